"""The operator console as an operator uses it, in headless Chromium: sign in, see a failed
check, follow a message to its DM, re-queue a failed DM and see it sent; forged actions and
signed-out visits get nowhere."""

from __future__ import annotations

import re

from devtools.sandbox import ScriptedResponse
from tests.browser.conftest import sign_in
from tests.support.processes import wait_until

# The Graph API's answer for a recipient that does not exist: permanent, never retried.
NO_SUCH_USER = ScriptedResponse(
    status=400,
    body={
        "error": {
            "message": "No matching user found",
            "type": "IGApiException",
            "code": 100,
            "error_subcode": 2534014,
            "fbtrace_id": "AbCdEf",
        }
    },
)
CONSOLE_URLS = (
    "/console",
    "/console/failures",
    "/console/search?q=mid-1",
    "/console/message?mid=mid-1",
    "/console/user?ig_id=user-1",
    "/console/requeue",
)


def failed_dm(console) -> dict:
    console.sandbox.script(NO_SUCH_USER)
    assert console.ingest(mid="mid-1", sender_ig_id="user-1").status_code == 202
    [dm] = console.outbound_settled(1)
    assert dm["status"] == "failed"
    return dm


def test_an_operator_signs_in(page, screenshot):
    page.goto("/console")
    assert "/console/login" in page.url
    screenshot(page, "sign-in")
    sign_in(page)
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator("header").inner_text().count("ada") == 1


def test_the_overview_shows_a_failed_check_after_a_permanent_graph_error(page, console, screenshot):
    failed_dm(console)
    # The limit as `ingest status --max-failed-dms 0` would set it: any failed DM fails it.
    sign_in(page, "/console?max_failed_dms=0")
    check = page.locator("tr[data-check=failed_dms_in_window]")
    assert "FAIL" in check.inner_text()
    assert check.locator("td").all_inner_texts()[1:3] == ["1", "0"]  # value, limit
    assert "unhealthy" in page.locator("#overview").inner_text()
    # The overview refreshes itself (htmx), keeping the limit it was opened with.
    with page.expect_response(re.compile(r"/console\?max_failed_dms=0")):
        pass
    assert "FAIL" in page.locator("tr[data-check=failed_dms_in_window]").inner_text()
    screenshot(page, "overview")


def test_searching_a_mid_shows_its_dm_and_hides_its_text_and_token(page, console, screenshot):
    assert console.ingest(mid="mid-1", sender_ig_id="user-1", message_text="my secret").is_success
    [dm] = console.outbound_settled(1)
    sign_in(page)
    page.fill("header input[name=q]", "nobody")
    page.press("header input[name=q]", "Enter")
    assert "Nothing is known by" in page.locator("main").inner_text()
    screenshot(page, "search")
    page.fill("header input[name=q]", "mid-1")
    page.press("header input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"/console/message\?mid=mid-1"))
    row = page.locator(f"tr[data-dm='{dm['id']}']")
    assert "verification" in row.inner_text() and "sent" in row.inner_text()
    assert "my secret" not in page.content()
    # The DM's link carried a verification token: the console never shows it.
    [sent] = console.sandbox.wait_for_messages(1)
    token = re.search(r"token=([^&\s]+)", sent.text)[1]
    assert token not in page.content()
    screenshot(page, "message")
    page.click("button:has-text('Reveal')")
    page.locator("#content").get_by_text("my secret").wait_for()
    page.click("a:has-text('user-1')")
    page.wait_for_url(re.compile(r"/console/user\?ig_id=user-1"))
    assert "mid-1" in page.locator("main").inner_text()
    assert token not in page.content()
    screenshot(page, "user")


def test_a_failed_dm_re_queued_from_the_console_is_sent(page, console, screenshot):
    dm = failed_dm(console)
    sign_in(page, "/console/failures")
    assert "No matching user found" in page.locator(f"tr[data-dm='{dm['id']}']").inner_text()
    screenshot(page, "failures")
    page.click("a:has-text('Re-queue all matching')")
    assert "1 failed DM" in page.locator("#dry-run").inner_text()
    screenshot(page, "requeue-dry-run")
    page.click("button:has-text('Re-queue them')")
    assert "1 failed DM re-queued" in page.locator("#outcome").inner_text()
    screenshot(page, "requeued")
    [sent] = console.outbound_settled(1)
    assert sent["status"] == "sent" and sent["id"] == dm["id"]
    console.sandbox.wait_for_messages(1)

    def shown_sent() -> bool:
        page.goto("/console/message?mid=mid-1")
        return "sent" in page.locator(f"tr[data-dm='{dm['id']}']").inner_text()

    wait_until(shown_sent, what="the console to show the DM sent")


def test_an_action_without_the_csrf_token_is_refused(page, console):
    dm = failed_dm(console)
    sign_in(page, "/console/failures")
    # The operator's own session cookie, but not the page's token: what another site's
    # form could send (were SameSite not already in its way).
    answer = page.request.post("/console/dms/requeue", form={"outbound_id": str(dm["id"])})
    assert answer.status == 403
    assert console.rows("SELECT status FROM outbound_messages")[0]["status"] == "failed"
    forged_token = page.request.post(
        "/console/dms/requeue", form={"outbound_id": str(dm["id"]), "_csrf_token": "f" * 128}
    )
    assert forged_token.status == 403
    assert console.rows("SELECT status FROM outbound_messages")[0]["status"] == "failed"


def test_signed_out_every_console_url_goes_to_the_sign_in(page):
    for url in CONSOLE_URLS:
        page.goto(url)
        assert "/console/login" in page.url, url
    sign_in(page)
    page.click("button:has-text('Sign out')")
    page.wait_for_url(re.compile(r"/console/login"))
    for url in CONSOLE_URLS:
        page.goto(url)
        assert "/console/login" in page.url, url
