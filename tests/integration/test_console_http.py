"""The console over HTTP, without a browser: off without CONSOLE_PASSWORD, every page behind
the sign-in, every POST behind the CSRF token, sign-in failures limited, cookies locked down."""

from __future__ import annotations

import html
import re
import uuid
from urllib.parse import urlencode

import pytest
from litestar.testing import TestClient
from psycopg.types.json import Jsonb

from service.console import failures
from service.console.signin_limits import MAX_FAILURES
from service.core.settings import Settings
from service.http.app import create_app
from tests.support import seed
from tests.support.meta_payloads import delivery, entry, message_item
from tests.support.stack import ACCESS_TOKEN, Stack, make_env

PASSWORD = "console-password-0123456789"
PAGES = (
    "/console",
    "/console/search?q=x",
    "/console/message?mid=m-1",
    "/console/user?ig_id=user-1",
    "/console/failures",
    "/console/requeue",
)


@pytest.fixture
def console(database_url: str, sandbox):
    env = make_env(database_url=database_url, graph_url=sandbox.url, CONSOLE_PASSWORD=PASSWORD)
    with TestClient(create_app(Settings.from_mapping(env))) as client:
        yield client


def csrf(client: TestClient, path: str = "/console/login") -> str:
    page = client.get(path)
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text)[1]


def sign_in(client: TestClient, password: str = PASSWORD, operator: str = "ada"):
    token = csrf(client)
    return client.post(
        "/console/login",
        data={"_csrf_token": token, "operator": operator, "password": password, "next": "/console"},
        follow_redirects=False,
    )


def test_the_console_is_off_without_a_password(database_url, sandbox):
    env = make_env(database_url=database_url, graph_url=sandbox.url)
    with TestClient(create_app(Settings.from_mapping(env))) as client:
        assert client.get("/console").status_code == 404
        assert client.get("/console/login").status_code == 404


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_every_page_redirects_to_sign_in(console, path):
    answer = console.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/login?next=")


def test_signing_in_sets_a_locked_down_session_cookie(console, db):
    answer = sign_in(console)
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("console_session=")
    )
    assert "HttpOnly" in cookie and "Path=/console" in cookie
    assert "samesite=strict" in cookie.lower()
    assert "Secure" not in cookie  # plain http here; https sets it
    page = console.get("/console")
    assert page.status_code == 200 and "Checks" in page.text
    assert page.headers["x-frame-options"] == "DENY"


def test_the_session_cookie_is_secure_over_https(database_url, sandbox):
    env = make_env(database_url=database_url, graph_url=sandbox.url, CONSOLE_PASSWORD=PASSWORD)
    app = create_app(Settings.from_mapping(env))
    with TestClient(app, base_url="https://testserver.local") as client:
        cookies = sign_in(client).headers.get_list("set-cookie")
    assert any(c.startswith("console_session=") and "Secure" in c for c in cookies)


def test_a_wrong_password_is_refused_and_sign_ins_are_limited(console):
    for _ in range(MAX_FAILURES):
        assert sign_in(console, password="wrong-password-0123").status_code == 401
    assert sign_in(console).status_code == 429


def test_a_sign_in_form_over_a_few_kib_is_refused_before_it_is_parsed(console):
    token = csrf(console)
    fields = {"_csrf_token": token, "operator": "ada", "password": PASSWORD}
    # 16 KiB, where a form of a million fields once took a second of the event loop.
    flood = "&".join(f"f{n}=x" for n in range(2_000))
    answer = console.post(
        "/console/login",
        content=f"{urlencode(fields)}&{flood}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413
    assert answer.json()["status_code"] == 413


def test_while_sign_ins_are_held_the_limiter_answers_before_the_form_is_read(console):
    for _ in range(MAX_FAILURES):
        assert sign_in(console, password="wrong-password-0123").status_code == 401
    # No CSRF token and a body too large: neither is looked at while the address is held.
    answer = console.post(
        "/console/login",
        content="f=" + "x" * (64 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 429
    assert "try again in" in answer.text


def test_a_console_form_over_its_limit_is_refused(console, db):
    sign_in(console)
    token = csrf(console, "/console/requeue")
    answer = console.post(
        "/console/requeue", data={"_csrf_token": token, "error": "x" * 1000, "pad": "y" * 32_000}
    )
    assert answer.status_code == 413


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(console, db):
    dm = seed.failed_dm(db)
    sign_in(console)
    answer = console.post("/console/dms/requeue", data={"outbound_id": str(dm)})
    assert answer.status_code == 403
    [row] = db.execute("SELECT status FROM outbound_messages WHERE id = %s", (dm,)).fetchall()
    assert row["status"] == "failed"


def test_a_forged_session_cookie_is_not_signed_in(console):
    console.cookies.set("console_session", "eyJvcGVyYXRvciI6ImV2ZSJ9.forged.sig", path="/console")
    assert console.get("/console", follow_redirects=False).status_code == 303


def test_pages_render_and_hide_message_texts(console, db):
    seed.message(db, "m-1")
    db.execute("UPDATE messages SET message_text = 'a private text' WHERE id = 'm-1'")
    seed.failed_dm(db, message_id="m-1", recipient="sender-m-1")
    sign_in(console)
    for path in PAGES:
        answer = console.get(path.replace("user-1", "sender-m-1"))
        assert answer.status_code in (200, 404), (path, answer.text)
        assert "a private text" not in answer.text
    token = csrf(console, "/console/message?mid=m-1")
    revealed = console.post("/console/message/reveal", data={"_csrf_token": token, "mid": "m-1"})
    assert revealed.status_code == 200 and "a private text" in revealed.text


def test_search_finds_a_message_and_a_user(console, db):
    seed.message(db, "m-1")
    sign_in(console)
    found = console.get("/console/search?q=m-1", follow_redirects=False)
    assert found.headers["location"] == "/console/message?mid=m-1"
    found = console.get("/console/search?q=sender-m-1", follow_redirects=False)
    assert found.headers["location"] == "/console/user?ig_id=sender-m-1"
    assert console.get("/console/search?q=nobody").status_code == 404
    # A message with no DM, no job and no delivery has a timeline all the same.
    assert "message stored" in console.get("/console/message?mid=m-1").text


def test_a_bad_cursor_or_filter_is_a_400(console):
    sign_in(console)
    assert console.get("/console/failures?dms_before=yesterday").status_code == 400
    assert console.get("/console/failures?kind=spam").status_code == 400
    assert console.get("/console/failures?since=soon").status_code == 400


def test_replaying_a_failed_delivery_forwards_it_and_logs_who_asked(env, sandbox, db, capsys):
    body = delivery(entry(message_item("mid.replayed", text="hello again")))
    [row] = db.execute(
        "INSERT INTO webhook_deliveries"
        " (body, signed, status, attempts, last_error, last_attempt_at)"
        " VALUES (%s, true, 'failed', 13, 'ingest endpoint: HTTP 503', now()) RETURNING id",
        (Jsonb(body),),
    ).fetchall()
    with Stack(
        {**env, "CONSOLE_PASSWORD": PASSWORD}, sandbox, db, worker=False, live_server=True
    ) as stack:
        sign_in(stack.client)
        failures = stack.client.get("/console/failures")
        assert f'data-delivery="{row["id"]}"' in failures.text
        token = csrf(stack.client, "/console/failures")
        answer = stack.client.post(
            "/console/deliveries/replay", data={"_csrf_token": token, "delivery_id": row["id"]}
        )
    assert answer.status_code == 200 and "forwarded" in answer.text
    [replayed] = db.execute(
        "SELECT status, messages_forwarded FROM webhook_deliveries WHERE id = %s", (row["id"],)
    ).fetchall()
    assert replayed == {"status": "forwarded", "messages_forwarded": 1}
    assert db.execute("SELECT 1 FROM messages WHERE id = 'mid.replayed'").fetchall()
    logged = [line for line in capsys.readouterr().out.splitlines() if "console action" in line]
    assert len(logged) == 1 and "ada" in logged[0] and "replay_delivery" in logged[0]


def test_failed_dms_are_paged_by_keyset_without_repeats_or_gaps(console, db):
    seeded = {seed.failed_dm(db, minutes_ago=i % 7) for i in range(failures.PAGE + 5)}
    sign_in(console)
    seen, path = [], "/console/failures"
    while path:
        page = console.get(path)
        assert page.status_code == 200
        seen += re.findall(r'<tr data-dm="([^"]+)"', page.text)
        older = re.search(r'<a href="(/console/failures\?[^"]*dms_before=[^"]+)">Older', page.text)
        path = html.unescape(older[1]) if older else None
    assert len(seen) == len(seeded) and {uuid.UUID(dm) for dm in seen} == seeded


def test_an_unsent_message_shows_its_unsend_and_both_phase3_rows(console, db):
    seed.phase3_row(db, "m-gone", status="done", minutes_ago=5)
    db.execute("UPDATE messages SET deleted_at = now(), message_text = NULL WHERE id = 'm-gone'")
    db.execute(
        "INSERT INTO phase3_queue (message_id, ig_id, connected_user_id, kind)"
        " VALUES ('m-gone', 'user-p3', gen_random_uuid(), 'deletion')"
    )
    sign_in(console)
    page = console.get("/console/message?mid=m-gone").text
    assert "unsent by the sender" in page and "Phase 3 told of the unsend" in page
    assert page.count("<td>deletion</td>") == 1 and page.count("<td>message</td>") == 1


def test_the_overview_shows_a_held_access_token_and_never_the_token(console, db):
    sign_in(console)  # the app stored INSTAGRAM_ACCESS_TOKEN at start
    [stored] = db.execute("SELECT token_ciphertext FROM graph_access_tokens").fetchall()
    assert "usable" in console.get("/console").text
    db.execute(
        "UPDATE graph_access_tokens SET invalid_at = now(),"
        " invalid_error = 'InvalidAccessTokenError: Error validating access token'"
    )
    page = console.get("/console").text
    assert "held" in page and "Error validating access token" in page
    assert stored["token_ciphertext"] not in page and ACCESS_TOKEN not in page


def test_the_overview_shows_every_account_and_the_failures_each_dms_account(console, db):
    sign_in(console)
    db.execute(
        "INSERT INTO instagram_accounts (ig_id, username, source)"
        " VALUES ('17841400000000002', 'brand_b', 'cli')"
    )
    seed.failed_dm(db, kind="custom", recipient="user-b")
    db.execute("UPDATE outbound_messages SET account_ig_id = '17841400000000002'")
    page = console.get("/console").text
    assert 'data-account="17841400000000001"' in page
    assert 'data-account="17841400000000002"' in page and "brand_b" in page
    assert "17841400000000002" in console.get("/console/failures").text
    seed.failed_dm(db, kind="custom", recipient="user-a")  # the environment's, naming none
    mine = console.get("/console/failures?account=17841400000000001").text
    assert "user-a" in mine and "user-b" not in mine
    theirs = console.get("/console/failures?account=17841400000000002").text
    assert "user-b" in theirs and "user-a" not in theirs


def test_a_users_messaging_window_runs_from_their_last_inbound_event(database_url, sandbox, db):
    """As send-dm decides it: MESSAGING_WINDOW_SECONDS after `last_inbound_at`, whatever
    their newest message's own time says."""
    env = make_env(
        database_url=database_url,
        graph_url=sandbox.url,
        CONSOLE_PASSWORD=PASSWORD,
        MESSAGING_WINDOW_SECONDS="600",
    )
    seed.message(db, "m-recent")  # sent now, but their last event was 20 minutes ago
    seed.message(db, "m-old")
    db.execute("UPDATE messages SET \"timestamp\" = now() - interval '2 days' WHERE id = 'm-old'")
    db.execute(
        "INSERT INTO instagram_profiles (ig_id, last_inbound_at) VALUES"
        " ('sender-m-recent', now() - interval '20 minutes'),"
        " ('sender-m-old', now() - interval '1 minute')"
    )
    [closed, open_] = db.execute(
        "SELECT to_char((last_inbound_at + interval '600 seconds') AT TIME ZONE 'UTC',"
        " 'YYYY-MM-DD HH24:MI:SS') AS ends FROM instagram_profiles ORDER BY last_inbound_at"
    ).fetchall()
    with TestClient(create_app(Settings.from_mapping(env))) as client:
        sign_in(client)
        shown = client.get("/console/user?ig_id=sender-m-recent").text
        assert f'<span class="fail">closed</span> since {closed["ends"]}' in shown
        shown = client.get("/console/user?ig_id=sender-m-old").text
        assert f'<span class="ok">open</span> until {open_["ends"]}' in shown


def test_the_root_points_to_the_console_and_the_schema(console, database_url, sandbox):
    answer = console.get("/")
    assert answer.status_code == 200
    assert answer.json()["console"] == "/console" and answer.json()["schema"] == "/schema"
    env = make_env(database_url=database_url, graph_url=sandbox.url)
    with TestClient(create_app(Settings.from_mapping(env))) as without_console:
        assert "console" not in without_console.get("/").json()


def test_a_dm_its_recipient_read_shows_as_read(console, db):
    seed.message(db, "m-1")
    dm = seed.outbound(db, recipient="sender-m-1", message_id="m-1")
    db.execute("UPDATE outbound_messages SET read_at = now() WHERE id = %s", (dm,))
    sign_in(console)

    for page in ("/console/message?mid=m-1", "/console/user?ig_id=sender-m-1"):
        assert re.search(r'<span class="read">read \d{4}-', console.get(page).text), page


def test_a_senders_profile_shows_on_their_pages_and_finds_them_by_username(console, db):
    seed.message(db, "m-1")
    db.execute(
        "INSERT INTO instagram_profiles (ig_id, username, display_name, follower_count,"
        " profile_fetched_at) VALUES ('sender-m-1', 'ada', 'Ada Lovelace', 1234, now())"
    )
    sign_in(console)

    message = console.get("/console/message?mid=m-1").text
    user = console.get("/console/user?ig_id=sender-m-1").text
    found = console.get("/console/search?q=@Ada", follow_redirects=False)

    assert "@ada (Ada Lovelace)" in message
    assert "@ada" in user and "Ada Lovelace" in user and "1234" in user
    assert found.headers["location"] == "/console/user?ig_id=sender-m-1"


def test_a_refused_profile_says_why_on_the_user_page(console, db):
    seed.message(db, "m-1")
    db.execute(
        "INSERT INTO instagram_profiles (ig_id, profile_error, profile_fetched_at)"
        " VALUES ('sender-m-1', 'consent_required', now())"
    )
    sign_in(console)

    assert "consent is required (error 230)" in console.get("/console/user?ig_id=sender-m-1").text


def test_the_overview_shows_the_latest_reconciliation_and_a_message_says_reconciled(console, db):
    seed.message(db, "m-found")
    db.execute("UPDATE messages SET source = 'reconciled' WHERE id = 'm-found'")
    db.execute(
        "INSERT INTO reconcile_runs (account_id, trigger, since, finished_at, conversations,"
        " messages_seen, already_stored, recovered, gaps, calls, gap_conversations)"
        " VALUES ('acct-1', 'schedule', now() - interval '1 hour', now(), 7, 30, 28, 2, 1, 9,"
        " '{conv-9}')"
    )
    sign_in(console)
    overview = console.get("/console").text
    row = re.search(r'<table id="reconcile">.*?</table>', overview, re.S)[0]
    cells = re.findall(r'<td class="num">(?:<span class="fail">)?(\d+)', row)
    assert "acct-1" in row and cells == ["7", "30", "28", "2", "1", "9"]
    assert 'data-check="reconcile_gaps_in_window"' in overview and "conv-9" in overview
    page = console.get("/console/message?mid=m-found").text
    assert "message stored, reconciled: its webhook never came" in page
