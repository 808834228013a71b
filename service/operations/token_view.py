"""`ingest token status|set|new-key` and `ingest subscribe`: the access token's lifecycle
and the webhook subscription, for an operator. No token is ever printed or read from the
command line (argv is visible to every user of the machine): `set` reads it from stdin, or
from a prompt that does not echo."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys

from service.business_account import access_token, webhook_subscription
from service.business_account.accounts import environment_account
from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.instagram import GraphError
from service.instagram.token_cipher import new_key
from service.reconcile import triggers


def print_new_key() -> int:
    print(new_key())
    return 0


def read_token() -> str:
    """The token from stdin when piped, else from a prompt that does not echo."""
    if sys.stdin.isatty():
        return getpass.getpass("access token: ").strip()
    return sys.stdin.readline().strip()


async def set_token(settings: Settings, token: str, account: str | None = None) -> int:
    """Store the token of `account` (default: the environment's)."""
    if not token:
        print("ingest token set: no token given (pipe it in, or type it at the prompt)")
        return 2
    scoped_id = account or environment_account(settings)
    async with open_runtime(settings, pool_max_size=2) as rt:
        await access_token.set_token(settings, rt.pool, token, scoped_id=scoped_id)
        row = await access_token.get(rt.pool, scoped_id)
    assert row is not None
    print(
        f"token stored for {row.scoped_id}; taken to expire {row.expires_at.isoformat()} "
        "(60 days); held sends resume"
    )
    return 0


async def status(settings: Settings, *, as_json: bool = False, account: str | None = None) -> int:
    """Exit 0 when a usable token is stored for `account` (default: the environment's); 1
    when none is, it was refused, or it expires within the status check's warning."""
    async with open_runtime(settings, pool_max_size=2) as rt:
        row = await access_token.get(rt.pool, account or environment_account(settings))
    if row is None:
        reason = (
            "TOKEN_ENCRYPTION_KEY is unset: INSTAGRAM_ACCESS_TOKEN is used as it is, never renewed"
            if not settings.token_encryption_key
            else "no token stored"
        )
        print(json.dumps({"stored": False, "reason": reason}) if as_json else reason)
        return 1
    now = dt.datetime.now(dt.UTC)
    left = (row.expires_at - now).total_seconds()
    report = {
        "stored": True,
        "scoped_id": row.scoped_id,
        "source": row.source,
        "issued_at": row.issued_at.isoformat(),
        "age_days": round((now - row.issued_at).total_seconds() / 86400, 2),
        "expires_at": row.expires_at.isoformat(),
        "expires_in_days": round(left / 86400, 2),
        "refresh_due": access_token.refresh_due(settings, row, now),
        "last_refresh": row.refreshed_at.isoformat() if row.refreshed_at else None,
        "last_refresh_attempt": (
            row.refresh_attempted_at.isoformat() if row.refresh_attempted_at else None
        ),
        "last_refresh_outcome": (
            None
            if row.refresh_attempted_at is None
            else "failed: " + row.refresh_error
            if row.refresh_error
            else "succeeded"
        ),
        "invalid_since": row.invalid_at.isoformat() if row.invalid_at else None,
        "invalid_error": row.invalid_error,
    }
    if as_json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:22} {'-' if value is None else value}")
    healthy = row.invalid_at is None and left >= access_token.EXPIRY_WARNING_SECONDS
    return 0 if healthy else 1


async def subscribe(settings: Settings, account: str | None = None) -> int:
    """Subscribe `account` (default: the environment's) to the webhook fields."""
    scoped_id = account or environment_account(settings)
    async with open_runtime(settings, pool_max_size=2) as rt:
        try:
            answer = await webhook_subscription.subscribe(rt, scoped_id)
        except GraphError as exc:
            print(f"Meta refused the subscription: {exc}")
            return 1
        found = await webhook_subscription.check(rt, scoped_id)
        if found.subscribed:  # what Meta dropped while unsubscribed, recovered at once
            await triggers.defer_reconcile(rt, scoped_id, triggers.SUBSCRIBED)
    print(f"Meta answered: {json.dumps(answer)}")
    print(f"subscribed fields now: {', '.join(found.fields) or 'none'}")
    return 0 if answer.get("success") is True and found.subscribed else 1
