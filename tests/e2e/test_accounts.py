"""Several Instagram accounts in one deployment, with real worker processes and the sandbox
knowing each account's token and rate: each message answered from the account it was sent
to, each account paced and held on its own, an account never added never answered, and
`ingest account add` refusing a token that is not the account's."""

from __future__ import annotations

import json

import pytest

from tests.support import meta_payloads as meta
from tests.support.stack import ACCESS_TOKEN, SCOPED_ID, Stack, make_env, run_cli
from tests.support.tokens import tables_holding

OTHER = "17841400000000002"
OTHER_TOKEN = "test-access-token-other-account-5555"
NEVER_ADDED = "17841400000000009"


def add_other(env: dict[str, str], token: str = OTHER_TOKEN, ig_id: str = OTHER):
    return run_cli(env, "account", "add", ig_id, stdin=f"{token}\n")


@pytest.fixture
def accounts(sandbox):
    """The sandbox knows both accounts' tokens: each is refused on the other's path."""
    sandbox.accounts.add(SCOPED_ID, ACCESS_TOKEN, username="brand_a")
    sandbox.accounts.add(OTHER, OTHER_TOKEN, username="brand_b")
    return sandbox


def sent_from(stack, account: str) -> list[dict]:
    return stack.rows(
        "SELECT * FROM outbound_messages WHERE account_ig_id = %s ORDER BY created_at", account
    )


def test_entries_of_two_accounts_in_one_delivery_are_answered_each_from_its_account(
    env, accounts, db
):
    added = add_other(env)
    assert added.returncode == 0, added.stderr
    with Stack(env, accounts, db, live_server=True) as stack:
        payload = meta.delivery(
            meta.entry(meta.message_item("mid.a", text="hi", sender="user-a"), account=SCOPED_ID),
            meta.entry(
                meta.message_item("mid.b", text="hi", sender="user-b", recipient=OTHER),
                account=OTHER,
            ),
        )
        assert stack.deliver(payload).status_code == 200
        dms = accounts.wait_for_messages(2, timeout=30)
    by_recipient = {dm.recipient_id: dm.scoped_id for dm in dms}
    assert by_recipient == {"user-a": SCOPED_ID, "user-b": OTHER}
    # The sandbox refuses a token on another account's path: each was sent with its own.
    assert sorted(accounts.accounts.send_tokens) == sorted([ACCESS_TOKEN, OTHER_TOKEN])
    profiles = db.execute("SELECT ig_id, account_ig_id FROM instagram_profiles").fetchall()
    assert {p["ig_id"]: p["account_ig_id"] for p in profiles} == {
        "user-a": SCOPED_ID,
        "user-b": OTHER,
    }


def test_a_burst_to_one_account_does_not_slow_another(database_url, accounts, db):
    env = make_env(
        database_url=database_url,
        graph_url=accounts.url,
        GRAPH_SEND_RATE="5",
        GRAPH_SEND_BURST="2",
        WORKER_CONCURRENCY="10",
    )
    assert add_other(env).returncode == 0
    burst = 12
    with Stack(env, accounts, db) as stack:
        for n in range(burst):
            stack.ingest(mid=f"m-a{n}", sender_ig_id=f"user-a{n}")
        stack.wait(lambda: len(sent_from(stack, SCOPED_ID)) == burst, what="the burst recorded")
        stack.ingest(mid="m-b", sender_ig_id="user-b", recipient_ig_id=OTHER)
        dms = accounts.wait_for_messages(burst + 1, timeout=60)
    [other] = [dm for dm in dms if dm.scoped_id == OTHER]
    # At 5 a second in bursts of 2, the burst takes 2 s at least; the other account's DM
    # waits for none of it.
    last_of_burst = max(dm.arrived_at for dm in dms if dm.scoped_id == SCOPED_ID)
    assert (last_of_burst - other.arrived_at).total_seconds() > 0.5


def test_a_refused_token_holds_its_accounts_sends_and_not_anothers(env, accounts, db):
    assert add_other(env).returncode == 0
    accounts.accounts.revoke(ACCESS_TOKEN)
    with Stack(env, accounts, db) as stack:
        stack.ingest(mid="m-a1", sender_ig_id="user-a1")
        stack.wait(
            lambda: stack.rows(
                "SELECT 1 FROM graph_access_tokens WHERE scoped_id = %s AND invalid_at IS NOT NULL",
                SCOPED_ID,
            ),
            what="the first account's token marked refused",
        )
        stack.ingest(mid="m-a2", sender_ig_id="user-a2")
        stack.ingest(mid="m-b", sender_ig_id="user-b", recipient_ig_id=OTHER)
        [dm] = accounts.wait_for_messages(1, timeout=30)
        stack.wait(lambda: len(sent_from(stack, SCOPED_ID)) == 2, what="both DMs recorded")
        attempts_before = accounts.attempts
        held = sent_from(stack, SCOPED_ID)
    assert (dm.scoped_id, dm.recipient_id) == (OTHER, "user-b")
    assert [row["status"] for row in held] == ["pending", "pending"]
    assert [row["status"] for row in sent_from(stack, OTHER)] == ["sent"]
    # The held account's second DM never called: only the refused one did.
    assert attempts_before == 2
    [other_token] = stack.rows("SELECT * FROM graph_access_tokens WHERE scoped_id = %s", OTHER)
    assert other_token["invalid_at"] is None


def test_an_event_for_an_account_never_added_is_stored_unanswered_and_counted(webhook_stack, db):
    payload = meta.delivery(
        meta.entry(
            meta.message_item("mid.x", text="hi", sender="user-x", recipient=NEVER_ADDED),
            account=NEVER_ADDED,
        )
    )
    assert webhook_stack.deliver(payload).status_code == 200
    webhook_stack.wait_decided("mid.x")
    assert webhook_stack.rows("SELECT 1 FROM webhook_deliveries")
    assert webhook_stack.rows("SELECT * FROM outbound_messages") == []
    assert webhook_stack.sandbox.attempts == 0
    report = json.loads(run_cli(webhook_stack.env, "status", "--json").stdout)
    [check] = [c for c in report["checks"] if c["name"] == "unknown_account_events_in_window"]
    assert (check["value"], check["ok"]) == (1, False)
    assert NEVER_ADDED in check["detail"]


@pytest.mark.parametrize(
    ("ig_id", "token", "why"),
    [
        (OTHER, ACCESS_TOKEN, f"the token is the account {SCOPED_ID}'s, not {OTHER}'s"),
        (OTHER, "", "no token given"),
        (OTHER, "test-token-no-account-knows", "the Graph API refused the token"),
        ("brand_b", OTHER_TOKEN, "IG_ID must be the account's numeric user_id"),
    ],
)
def test_account_add_refuses_what_is_not_the_accounts_token(env, accounts, db, ig_id, token, why):
    refused = add_other(env, token=token, ig_id=ig_id)
    assert refused.returncode == 2
    [line] = refused.stderr.splitlines()
    assert why in line
    assert not db.execute(
        "SELECT 1 FROM graph_access_tokens WHERE scoped_id = %s", (OTHER,)
    ).fetchall()
    assert not db.execute("SELECT 1 FROM instagram_accounts WHERE ig_id = %s", (OTHER,)).fetchall()


def test_account_list_and_remove_never_show_a_token_and_a_removed_account_is_not_answered(
    env, accounts, db
):
    added = add_other(env)
    listed = run_cli(env, "account", "list", "--json")
    shown = {row["ig_id"]: row for row in json.loads(listed.stdout)}
    assert shown[OTHER]["username"] == "brand_b"
    assert shown[OTHER]["token"].startswith("usable, expires in")
    assert shown[OTHER]["subscription"] == "ok"
    assert set(shown) == {SCOPED_ID, OTHER}
    removed = run_cli(env, "account", "remove", OTHER)
    assert removed.returncode == 0
    with Stack(env, accounts, db) as stack:
        stack.ingest(mid="m-b", sender_ig_id="user-b", recipient_ig_id=OTHER)
        stack.wait_decided("m-b")
        worker_output = stack.worker.output() if stack.worker else ""
    assert accounts.attempts == 0
    assert [r["ig_id"] for r in json.loads(run_cli(env, "account", "list", "--json").stdout)] == [
        SCOPED_ID
    ]
    for text in (added.stdout, added.stderr, listed.stdout, removed.stdout, worker_output):
        assert OTHER_TOKEN not in text
    assert tables_holding(db, OTHER_TOKEN) == []
    [account] = db.execute("SELECT * FROM instagram_accounts WHERE ig_id = %s", (OTHER,))
    assert account["removed_at"] is not None  # its rows stay


def test_send_dm_sends_from_the_account_the_recipient_wrote_to_and_no_other(env, accounts, db):
    assert add_other(env).returncode == 0
    db.execute(
        "INSERT INTO instagram_profiles (ig_id, account_ig_id, last_inbound_at)"
        " VALUES ('user-b', %s, now())",
        (OTHER,),
    )
    with Stack(env, accounts, db) as stack:
        sent = stack.post("/api/internal/send-dm", {"ig_id": "user-b", "message_text": "hi"})
        named = stack.post(
            "/api/internal/send-dm",
            {"ig_id": "user-b", "message_text": "again", "account_ig_id": OTHER},
        )
        refused = stack.post(
            "/api/internal/send-dm",
            {"ig_id": "user-b", "message_text": "hi", "account_ig_id": SCOPED_ID},
        )
        dms = accounts.wait_for_messages(2, timeout=30)
    assert sent.status_code in (200, 202) and named.status_code in (200, 202)
    assert {(dm.recipient_id, dm.scoped_id) for dm in dms} == {("user-b", OTHER)}
    assert refused.status_code == 422
    assert "never wrote to the account" in refused.text
    assert len(sent_from(stack, SCOPED_ID)) == 0  # nothing recorded for the refusal


def test_a_senders_profile_is_asked_with_the_token_of_the_account_they_wrote_to(env, accounts, db):
    assert add_other(env).returncode == 0
    with Stack(env, accounts, db) as stack:
        response = stack.ingest(
            mid="mid.b", sender_ig_id="user-b", recipient_ig_id=OTHER, timestamp="1734123456"
        )
        assert response.status_code == 202, response.text
        stack.wait(
            lambda: stack.rows(
                "SELECT 1 FROM instagram_profiles WHERE ig_id = 'user-b'"
                " AND profile_fetched_at IS NOT NULL"
            ),
            what="the profile of user-b",
        )
    assert accounts.objects.tokens == [OTHER_TOKEN]
