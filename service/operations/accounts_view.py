"""`ingest account add|list|remove`: the Instagram accounts the service answers, for an
operator. A token is read from stdin (or a prompt that does not echo), never from the
command line, and never printed: `add` checks it with the Graph API (`GET /me`, whose
`user_id` must be the account's), stores it encrypted and subscribes the account.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

from service.business_account import access_token, webhook_subscription
from service.business_account.accounts import environment_account
from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.instagram import GraphError, account_api
from service.store import instagram_accounts
from service.store.instagram_accounts import AccountOverview


def _refuse(command: str, reason: str) -> int:
    print(f"ingest account {command}: {reason}", file=sys.stderr)
    return 2


async def add(settings: Settings, ig_id: str, token: str) -> int:
    """Check the token, store it, record the account and subscribe it; 2, storing nothing,
    when the id or the token is refused."""
    if not ig_id.isdigit():
        return _refuse("add", f"IG_ID must be the account's numeric user_id, not {ig_id!r}")
    if not token:
        return _refuse("add", "no token given (pipe it in, or type it at the prompt)")
    if access_token.cipher(settings) is None:
        return _refuse("add", "TOKEN_ENCRYPTION_KEY is required to store an account's token")
    async with open_runtime(settings, pool_max_size=2) as rt:
        try:
            owner = await account_api.token_owner(rt.http, settings.instagram_api_base_url, token)
        except GraphError as exc:
            return _refuse("add", f"the Graph API refused the token: {exc}")
        if owner.user_id != ig_id:
            return _refuse("add", f"the token is the account {owner.user_id}'s, not {ig_id}'s")
        await access_token.set_token(settings, rt.pool, token, scoped_id=ig_id)
        async with rt.pool.connection() as conn:
            await instagram_accounts.add(conn, ig_id=ig_id, username=owner.username)
        try:
            await webhook_subscription.subscribe(rt, ig_id)
        except GraphError as exc:
            print(f"account {ig_id} added, but Meta refused the subscription: {exc}")
            return 1
        found = await webhook_subscription.check(rt, ig_id)
    name = f" (@{owner.username})" if owner.username else ""
    print(f"account {ig_id}{name} added; subscribed fields: {', '.join(found.fields) or 'none'}")
    return 0 if found.subscribed else 1


async def remove(settings: Settings, ig_id: str) -> int:
    async with open_runtime(settings, pool_max_size=2) as rt, rt.pool.connection() as conn:
        removed = await instagram_accounts.remove(conn, ig_id)
    if not removed:
        print(f"ingest account remove: no answered account {ig_id}", file=sys.stderr)
        return 1
    print(
        f"account {ig_id} removed: its messages are stored and not answered, its pending DMs "
        "fail unsent, its rows stay"
    )
    return 0


async def list_accounts(settings: Settings, *, as_json: bool = False) -> int:
    async with open_runtime(settings, pool_max_size=2) as rt, rt.pool.connection() as conn:
        rows = await instagram_accounts.overview(conn, environment=environment_account(settings))
    shown = [_shown(settings, row) for row in rows]
    if as_json:
        print(json.dumps(shown))
        return 0
    columns = ("ig_id", "username", "token", "subscription", "last_delivery", "sends_held")
    table = [columns, *([str(account[c]) for c in columns] for account in shown)]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    return 0


def _shown(settings: Settings, row: AccountOverview) -> dict[str, Any]:
    last = row.last_delivery_at.isoformat() if row.last_delivery_at else "-"
    subscription = "-" if row.subscribed is None else "ok" if row.subscribed else "lost"
    return {
        "ig_id": row.ig_id,
        "username": row.username or "-",
        "source": row.source,
        "token": _token_state(settings, row),
        "subscription": subscription,
        "last_delivery": last,
        "sends_held": row.sends_held,
    }


def _token_state(settings: Settings, row: AccountOverview) -> str:
    if row.token_invalid_at is not None:
        return "refused"
    if row.token_expires_at is None:
        usable = row.source == "environment" and settings.instagram_access_token
        return "usable (INSTAGRAM_ACCESS_TOKEN, not stored)" if usable else "missing"
    days = (row.token_expires_at - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    return f"usable, expires in {days:.1f} days" if days > 0 else "expired"
