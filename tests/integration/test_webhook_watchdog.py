"""A lost webhook subscription and a silent webhook fail their checks."""

from __future__ import annotations

import prometheus_client

from service.business_account import webhook_subscription
from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.instagram import account_api
from service.operations import status
from tests.support import seed
from tests.support.stack import SCOPED_ID
from tests.support.status_checks import checks


async def check_subscription(env: dict[str, str]) -> webhook_subscription.SubscriptionCheck:
    async with open_runtime(Settings.from_mapping(env)) as rt:
        return await webhook_subscription.check(rt, rt.settings.instagram_scoped_id)


def gauge() -> float | None:
    return prometheus_client.REGISTRY.get_sample_value(
        "ingest_webhook_subscribed", {"account": SCOPED_ID}
    )


async def test_an_empty_subscription_list_fails_the_check_and_sets_the_gauge(env, sandbox):
    found = await check_subscription(env)
    assert not found.subscribed and found.fields == ()
    check = (await checks(env))[status.WEBHOOK_SUBSCRIPTION]
    assert not check["ok"] and "no app is subscribed" in check["detail"]
    assert gauge() == 0


async def test_a_subscription_without_messages_fails_the_check(env, sandbox):
    sandbox.accounts.subscribe(SCOPED_ID, ["comments", "mentions"])
    found = await check_subscription(env)
    assert not found.subscribed and found.fields == ("comments", "mentions")
    check = (await checks(env))[status.WEBHOOK_SUBSCRIPTION]
    assert not check["ok"] and "`messages`" in check["detail"]


async def test_subscribing_passes_the_check(env, sandbox):
    await check_subscription(env)
    async with open_runtime(Settings.from_mapping(env)) as rt:
        assert await webhook_subscription.subscribe(rt, rt.settings.instagram_scoped_id) == {
            "success": True
        }
    assert sandbox.accounts.subscriptions() == {SCOPED_ID: list(account_api.WEBHOOK_FIELDS)}
    assert (await check_subscription(env)).subscribed
    assert (await checks(env))[status.WEBHOOK_SUBSCRIPTION]["ok"]
    assert gauge() == 1


async def test_a_failed_read_fails_the_check_with_its_reason(env, sandbox):
    sandbox.accounts.revoke("test-access-token-0123456789")
    found = await check_subscription(env)
    assert not found.subscribed
    check = (await checks(env))[status.WEBHOOK_SUBSCRIPTION]
    assert not check["ok"] and "code 190" in check["detail"]


async def test_never_checked_passes(env):
    assert (await checks(env))[status.WEBHOOK_SUBSCRIPTION]["ok"]


def signed_delivery(db, *, hours_ago: float, signed: bool = True) -> None:
    db.execute(
        "INSERT INTO webhook_deliveries (body, signed, received_at, status)"
        " VALUES ('{}', %s, now() - make_interval(secs => %s), 'forwarded')",
        (signed, hours_ago * 3600),
    )


async def test_no_signed_delivery_for_longer_than_the_limit_fails_the_silence_check(env, db):
    signed_delivery(db, hours_ago=7)
    signed_delivery(db, hours_ago=0.1, signed=False)  # unsigned posts do not count
    check = (await checks(env, webhook_silence_seconds=6 * 3600))[status.WEBHOOK_SILENCE]
    assert not check["ok"] and check["value"] >= 7 * 3600
    assert check["detail"].startswith("latest signed delivery at ")


async def test_a_recent_signed_delivery_passes_the_silence_check(env, db):
    signed_delivery(db, hours_ago=7)
    signed_delivery(db, hours_ago=1)
    assert (await checks(env, webhook_silence_seconds=6 * 3600))[status.WEBHOOK_SILENCE]["ok"]


async def test_a_silence_limit_of_zero_turns_the_check_off(env, db):
    signed_delivery(db, hours_ago=700)
    assert (await checks(env, webhook_silence_seconds=0))[status.WEBHOOK_SILENCE]["ok"]


async def test_no_delivery_yet_passes_the_silence_check(env):
    assert (await checks(env, webhook_silence_seconds=60))[status.WEBHOOK_SILENCE]["ok"]


async def test_an_account_without_a_message_for_longer_than_the_limit_fails_its_silence(env, db):
    quiet = "17841400000000002"
    db.execute(
        "INSERT INTO instagram_accounts (ig_id, source, added_at)"
        " VALUES (%s, 'cli', now() - interval '7 hours')",
        (quiet,),
    )
    seed.message(db, "m-recent", minutes_ago=5)  # the environment's account is heard from
    db.execute("UPDATE instagram_accounts SET added_at = now() - interval '7 hours'")
    check = (await checks(env, webhook_silence_seconds=6 * 3600))[status.ACCOUNT_SILENCE]
    assert not check["ok"] and check["value"] >= 7 * 3600
    assert check["detail"].startswith(f"{quiet}: ") and SCOPED_ID not in check["detail"]
    seed.message(db, "m-quiet", account=quiet)
    assert (await checks(env, webhook_silence_seconds=6 * 3600))[status.ACCOUNT_SILENCE]["ok"]
