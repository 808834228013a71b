"""Every console page on a day of realistic rows (`tests.support.console_demo`): the numbers
a page shows are its rows' own, counted here apart from the console's queries."""

from __future__ import annotations

import re

from tests.browser.conftest import sign_in
from tests.support import console_demo, console_screenshot


def cells(page, selector: str) -> list[list[str]]:
    """The text of each cell of each row of the table `selector`, header row first."""
    return page.eval_on_selector_all(
        f"{selector} tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )


def section(title: str) -> str:
    """The table of the overview's section headed `title`."""
    return f"section:has(> h2:text-matches('^{title}')) table"


def test_the_overview_shows_the_numbers_of_its_rows(demo, open_page):
    stack, seeded = demo
    page = open_page(stack)
    sign_in(page)
    backlog = {row[0]: row[1] for row in cells(page, section("Phase 3 backlog"))[1:]}
    assert backlog == {"claimed": str(seeded.phase3_claimed), "queued": str(seeded.phase3_queued)}
    legend = page.locator(".legend").inner_text()
    for label, count in (
        ("messages received", seeded.received),
        ("DMs sent", seeded.sent),
        ("DMs failed", seeded.failed),
    ):
        assert f"{label} ({count})" in legend
    in_window = stack.rows(
        "SELECT kind, status, count(*) AS n, sum(attempts) AS calls FROM outbound_messages"
        " WHERE created_at > now() - interval '1 hour' GROUP BY 1, 2"
    )
    shown = {
        (kind, status): (n, calls) for kind, status, n, calls in cells(page, section("DMs"))[1:]
    }
    assert shown == {(r["kind"], r["status"]): (str(r["n"]), str(r["calls"])) for r in in_window}
    failed = sum(r["n"] for r in in_window if r["status"] == "failed")
    assert failed > 0
    check = page.locator("#checks tr[data-check=failed_dms_in_window] td")
    assert check.all_inner_texts()[1] == str(failed)
    queues = {row[0]: row[1:3] for row in cells(page, section("Queues"))[1:]}
    assert queues and all(counts == ["0", "0"] for counts in queues.values())


def test_the_failures_page_shows_each_failure_with_its_numbers(demo, open_page):
    stack, seeded = demo
    page = open_page(stack)
    sign_in(page, "/console/failures")
    dms = cells(page, "#failed-dms")[1:]
    assert len(dms) == seeded.failed
    assert {row[5] for row in dms} == {"4"}  # attempts
    [delivery] = cells(page, "#failed-deliveries")[1:]
    assert delivery[0] == str(seeded.failed_delivery)
    assert delivery[2:4] == ["13", "0"]  # attempts, messages forwarded


def test_a_user_page_shows_a_page_of_their_messages_and_their_dms(demo, open_page):
    stack, seeded = demo
    page = open_page(stack)
    sign_in(page, f"/console/user?ig_id={seeded.connected}")
    [counted] = stack.rows(
        "SELECT (SELECT count(*) FROM messages WHERE sender_ig_id = %s) AS messages,"
        " (SELECT count(*) FROM outbound_messages WHERE recipient_ig_id = %s) AS dms",
        seeded.connected,
        seeded.connected,
    )
    assert counted["messages"] > 20 and counted["dms"] > 20
    assert len(cells(page, "#messages")[1:]) == 20  # a page; the rest behind "Older"
    assert page.locator("a:has-text('Older messages')").count() == 1
    assert len(cells(page, "#dms")[1:]) == 20


PHONE = 390  # CSS pixels: an iPhone 12 to 15's width


def assert_fits(page, screenshot, name: str) -> None:
    """Nothing on the page reaches past the viewport's width: it never scrolls sideways."""
    screenshot(page, f"phone-{name}")
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{name}: {widths[0]} px wide in a {widths[1]} px viewport"


def test_every_page_fits_a_phone(demo, open_page, screenshot):
    stack, seeded = demo
    page = open_page(stack, width=PHONE)
    page.goto("/console/login")
    assert_fits(page, screenshot, "sign-in")
    sign_in(page)
    sign_out = page.locator("button:has-text('Sign out')").bounding_box()
    assert sign_out["x"] >= 0 and sign_out["x"] + sign_out["width"] <= PHONE
    for name, url in (
        ("overview", "/console"),
        ("failures", "/console/failures"),
        ("search", "/console/search"),
        ("search-nothing", f"/console/search?q={console_demo.meta_id('unknown', 1)}"),
        ("user", f"/console/user?ig_id={seeded.connected}"),
        ("user-unconnected", f"/console/user?ig_id={seeded.unconnected}"),
        ("message", f"/console/message?mid={seeded.mid}"),
    ):
        page.goto(url)
        assert_fits(page, screenshot, name)
    page.click("button:has-text('Reveal')")
    page.locator("#content").get_by_text("recipe").first.wait_for()
    assert_fits(page, screenshot, "message-revealed")
    page.goto("/console/failures")
    page.click(f"tr[data-delivery='{seeded.failed_delivery}'] button:has-text('Replay')")
    page.wait_for_url(re.compile(r"/console/deliveries/replay"))
    assert_fits(page, screenshot, "replayed")
    page.goto("/console/failures")
    page.click("a:has-text('Re-queue all matching')")
    assert f"{seeded.failed} failed DMs" in page.locator("#dry-run").inner_text()
    assert_fits(page, screenshot, "requeue-dry-run")
    page.click("button:has-text('Re-queue them')")
    assert_fits(page, screenshot, "requeued")


def test_the_readme_screenshot_is_drawn_from_the_demo_rows(browser, tmp_path):
    path = tmp_path / "overview.png"
    console_screenshot.draw(path, browser)
    assert path.read_bytes().startswith(b"\x89PNG")
