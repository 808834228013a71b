"""Draw the README's screenshot of the console's overview, on a day of realistic rows
(`tests.support.console_demo`) in a database of its own, with Debian's Chromium:

    .venv/bin/python -m tests.support.console_screenshot [PATH]

PATH defaults to docs/console-overview.png. It needs what the browser tests need: a
Postgres server (`tests.support.pg`) and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from devtools.sandbox import Sandbox
from service.core.settings import Settings
from service.http.app import create_app
from service.store.migrate import migrate
from tests.support import console_demo, pg
from tests.support.live_server import LiveServer
from tests.support.processes import wait_until
from tests.support.stack import make_env

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "console-screenshot-password-0123"
WIDTH, HEIGHT = 1280, 900
DEFAULT_PATH = pg.ROOT / "docs" / "console-overview.png"


@contextmanager
def demo_database() -> Iterator[str]:
    """A database of this run's own, migrated and seeded; dropped afterwards."""
    server = pg.find_server()
    name = f"console_screenshot_{os.getpid()}"
    admin = pg.url_for(**server, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg.url_for(**server, dbname=name)
    try:
        migrate(url)
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as db:
            console_demo.seed(db)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def draw(path: Path, browser) -> None:
    """Sign in to a console on the demo rows in `browser` (Playwright's), and save the
    overview, whole, as `path`."""
    with demo_database() as url, Sandbox() as sandbox:
        env = make_env(database_url=url, graph_url=sandbox.url, CONSOLE_PASSWORD=PASSWORD)
        server = LiveServer()
        server.start(create_app(Settings.from_mapping(env)), wait_until=wait_until)
        page = browser.new_page(base_url=server.url, viewport={"width": WIDTH, "height": HEIGHT})
        try:
            page.goto("/console/login")
            page.fill("input[name=operator]", "ada")
            page.fill("input[name=password]", PASSWORD)
            page.click("button:has-text('Sign in')")
            page.wait_for_url(re.compile(r"/console$"))
            page.screenshot(path=str(path), full_page=True)
        finally:
            page.close()
            server.stop()


def main(argv: list[str] | None = None) -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    path = parser.parse_args(argv).path
    with sync_playwright() as playwright:
        # Chromium's sandbox cannot run as root.
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        draw(path, browser)
        browser.close()


if __name__ == "__main__":
    main()
