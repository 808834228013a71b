"""The console in a real browser: Debian's Chromium (`apt-get install chromium`), driven
headless by Playwright, one browser for the tier and a fresh context (no cookies) per test,
against the app as a real HTTP server and a real worker process.

Screenshots of the pages go to `test-output/browser/` (ignored by git).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import console_demo
from tests.support.pg import ROOT
from tests.support.stack import Stack

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "browser-console-password-0123"
SCREENSHOTS = ROOT / "test-output" / "browser"


@pytest.fixture(scope="module")
def browser():
    """One browser for the tier's module. Not for the session: Playwright's sync API keeps
    an event loop running on this thread until it stops, which the async tests of the tiers
    that run after this one would find, and fail on."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install chromium` runs these tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Chromium's sandbox cannot run as root, which CI is.
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def console(env: dict[str, str], sandbox, db):
    """The app (a real HTTP server, with the console on) and a real worker."""
    with Stack({**env, "CONSOLE_PASSWORD": PASSWORD}, sandbox, db, live_server=True) as running:
        yield running


@pytest.fixture
def demo(env: dict[str, str], sandbox, db):
    """The app on a day of realistic rows (`tests.support.console_demo`), and no worker to
    change them: (the running stack, what was seeded)."""
    seeded = console_demo.seed(db)
    with Stack(
        {**env, "CONSOLE_PASSWORD": PASSWORD}, sandbox, db, worker=False, live_server=True
    ) as running:
        yield running, seeded


@pytest.fixture
def open_page(browser):
    """`open_page(stack, width=1280)`: a page in a fresh context (no cookies), `width` CSS
    pixels wide, its relative URLs on the stack's live server."""
    contexts = []

    def opened(stack: Stack, width: int = 1280):
        context = browser.new_context(
            base_url=stack.live_server.url, viewport={"width": width, "height": 900}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield opened
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page, console):
    return open_page(console)


@pytest.fixture
def screenshot(request):
    """Save the page as `test-output/browser/<name>.png`."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def sign_in(page, next_path: str = "/console") -> None:
    page.goto(next_path)
    page.fill("input[name=operator]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/console(?!/login)"))
