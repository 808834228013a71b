"""The stored access token: seeded from the setting, encrypted at rest, refreshed when
due (and only then), and the status checks about it."""

from __future__ import annotations

import datetime as dt

from service.business_account import access_token
from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.instagram.token_cipher import TokenCipher
from service.operations import status
from tests.support.stack import ACCESS_TOKEN, SCOPED_ID, TOKEN_KEY
from tests.support.status_checks import checks
from tests.support.tokens import age_token, tables_holding, token_row

FAILED_REFRESH = {
    "error": {"message": "Session has expired", "type": "OAuthException", "code": 190}
}


async def start(env: dict[str, str], **changes: str) -> Settings:
    """Open (and close) a process's runtime, which seeds the token; its settings."""
    settings = Settings.from_mapping({**env, **changes})
    async with open_runtime(settings):
        pass
    return settings


async def refresh(settings: Settings) -> access_token.RefreshOutcome:
    async with open_runtime(settings) as rt:
        return await access_token.refresh_if_due(
            settings, rt.pool, rt.http, scoped_id=settings.instagram_scoped_id
        )


async def test_the_setting_seeds_the_store_encrypted_and_never_in_plaintext(env, db):
    await start(env)
    row = token_row(db)
    assert row["scoped_id"] == SCOPED_ID and row["source"] == "environment"
    assert TokenCipher(TOKEN_KEY).decrypt(row["token_ciphertext"]) == ACCESS_TOKEN
    assert row["expires_at"] - row["issued_at"] == dt.timedelta(days=60)
    assert tables_holding(db, ACCESS_TOKEN) == []


async def test_a_restart_with_the_same_setting_keeps_the_stored_token(env, db):
    await start(env)
    first = token_row(db)
    await start(env)
    assert token_row(db)["issued_at"] == first["issued_at"]


async def test_a_changed_setting_is_seeded_again(env, db):
    await start(env)
    await start(env, INSTAGRAM_ACCESS_TOKEN="test-access-token-rotated-42")
    row = token_row(db)
    assert TokenCipher(TOKEN_KEY).decrypt(row["token_ciphertext"]) == (
        "test-access-token-rotated-42"
    )


OLDER_TOKEN = "test-access-token-older-17"
NEWER_TOKEN = "test-access-token-newer-23"


def stored_token(db) -> str:
    return TokenCipher(TOKEN_KEY).decrypt(token_row(db)["token_ciphertext"])


async def test_a_process_started_with_an_older_setting_does_not_put_its_token_back(env, db):
    await start(env, INSTAGRAM_ACCESS_TOKEN=OLDER_TOKEN)
    await start(env, INSTAGRAM_ACCESS_TOKEN=NEWER_TOKEN)
    await start(env, INSTAGRAM_ACCESS_TOKEN=OLDER_TOKEN)  # a process with a stale environment
    assert stored_token(db) == NEWER_TOKEN
    await start(env, INSTAGRAM_ACCESS_TOKEN=NEWER_TOKEN)
    assert stored_token(db) == NEWER_TOKEN


async def test_a_token_set_by_hand_outlives_every_setting_seeded_before_it(env, db):
    await start(env, INSTAGRAM_ACCESS_TOKEN=OLDER_TOKEN)
    settings = await start(env, INSTAGRAM_ACCESS_TOKEN=NEWER_TOKEN)
    async with open_runtime(settings) as rt:
        await access_token.set_token(
            settings, rt.pool, "test-access-token-set-by-hand-5", scoped_id=SCOPED_ID
        )
    await start(env, INSTAGRAM_ACCESS_TOKEN=OLDER_TOKEN)
    await start(env, INSTAGRAM_ACCESS_TOKEN=NEWER_TOKEN)
    assert stored_token(db) == "test-access-token-set-by-hand-5"
    await start(env, INSTAGRAM_ACCESS_TOKEN="test-access-token-newest-31")
    assert stored_token(db) == "test-access-token-newest-31"


async def test_a_refreshed_token_outlives_every_setting_seeded_before_it(env, sandbox, db):
    await start(env, INSTAGRAM_ACCESS_TOKEN=OLDER_TOKEN)
    settings = await start(env)
    age_token(db, issued_days_ago=51, expires_in_days=9)
    assert (await refresh(settings)).outcome == "refreshed"
    [new] = sandbox.accounts.issued
    await start(env, INSTAGRAM_ACCESS_TOKEN=OLDER_TOKEN)
    assert stored_token(db) == new
    assert tables_holding(db, OLDER_TOKEN) == []


async def test_a_fresh_token_is_not_refreshed(env, sandbox, db):
    settings = await start(env)
    outcome = await refresh(settings)
    assert outcome.outcome == "not_due" and sandbox.accounts.refreshes == 0


async def test_a_token_younger_than_a_day_is_not_refreshed_even_near_expiry(env, sandbox, db):
    settings = await start(env)
    age_token(db, issued_days_ago=0.5, expires_in_days=3)
    assert (await refresh(settings)).outcome == "not_due"
    assert sandbox.accounts.refreshes == 0


async def test_a_due_token_is_refreshed_and_a_restart_keeps_the_new_one(env, sandbox, db):
    settings = await start(env)
    age_token(db, issued_days_ago=51, expires_in_days=9)
    outcome = await refresh(settings)
    assert outcome.outcome == "refreshed"
    [new] = sandbox.accounts.issued
    row = token_row(db)
    assert TokenCipher(TOKEN_KEY).decrypt(row["token_ciphertext"]) == new
    assert row["source"] == "refresh" and row["refresh_error"] is None
    assert row["refreshed_at"] is not None
    left = row["expires_at"] - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=59) < left <= dt.timedelta(days=60)
    assert tables_holding(db, new) == []
    await start(env)  # the setting still holds the old token: it must not come back
    assert TokenCipher(TOKEN_KEY).decrypt(token_row(db)["token_ciphertext"]) == new


async def test_a_failed_refresh_is_recorded_and_keeps_the_token(env, sandbox, db):
    settings = await start(env)
    age_token(db, issued_days_ago=51, expires_in_days=9)
    sandbox.accounts.script_refresh(400, FAILED_REFRESH)
    outcome = await refresh(settings)
    assert outcome.outcome == "failed"
    row = token_row(db)
    assert row["refresh_error"] == (
        "InvalidAccessTokenError: Session has expired (HTTP 400, code 190)"
    )
    assert row["refresh_attempted_at"] is not None and row["refreshed_at"] is None
    assert TokenCipher(TOKEN_KEY).decrypt(row["token_ciphertext"]) == ACCESS_TOKEN


async def test_the_expiry_check_fails_seven_days_before_expiry_without_a_refresh(env, db):
    await start(env)
    age_token(db, issued_days_ago=51, expires_in_days=8)
    assert (await checks(env))[status.ACCESS_TOKEN_EXPIRY]["ok"]
    age_token(db, issued_days_ago=54, expires_in_days=6)
    check = (await checks(env))[status.ACCESS_TOKEN_EXPIRY]
    assert not check["ok"] and check["value"] == 1
    assert "never refreshed" in check["detail"]


async def test_the_expiry_check_names_the_failed_refresh(env, sandbox, db):
    settings = await start(env)
    age_token(db, issued_days_ago=54, expires_in_days=6)
    sandbox.accounts.script_refresh(500, {"error": {"message": "down", "code": 2}})
    await refresh(settings)
    check = (await checks(env))[status.ACCESS_TOKEN_EXPIRY]
    assert not check["ok"]
    assert "last refresh failed: TransientGraphError: down" in check["detail"]


async def test_the_token_checks_pass_with_no_stored_token(env):
    found = await checks(env)
    assert found[status.ACCESS_TOKEN_EXPIRY]["ok"] and found[status.ACCESS_TOKEN_INVALID]["ok"]


async def test_without_a_key_nothing_is_stored(env, db):
    await start(env, TOKEN_ENCRYPTION_KEY="")
    assert token_row(db) is None


async def test_a_successful_refresh_lifts_the_hold_of_a_refused_token(env, sandbox, db):
    settings = await start(env)
    db.execute("UPDATE graph_access_tokens SET invalid_at = now(), invalid_error = 'refused'")
    assert not (await checks(env))[status.ACCESS_TOKEN_INVALID]["ok"]
    age_token(db, issued_days_ago=51, expires_in_days=9)
    assert (await refresh(settings)).outcome == "refreshed"
    assert token_row(db)["invalid_at"] is None
    assert (await checks(env))[status.ACCESS_TOKEN_INVALID]["ok"]


async def test_a_refused_refresh_marks_the_token_refused(env, sandbox, db):
    settings = await start(env)
    age_token(db, issued_days_ago=51, expires_in_days=9)
    sandbox.accounts.revoke(ACCESS_TOKEN)
    assert (await refresh(settings)).outcome == "failed"
    check = (await checks(env))[status.ACCESS_TOKEN_INVALID]
    assert not check["ok"] and "code 190" in check["detail"]
