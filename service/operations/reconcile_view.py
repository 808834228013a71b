"""`ingest reconcile`: one reconciliation run for an account, now, waiting for one in
progress first; its counts printed. A malformed `--since`, an unknown account or a
refused token: one line naming it, exit 2, nothing changed."""

from __future__ import annotations

import sys

from service.business_account.runtime import open_runtime
from service.core.settings import SERVICE_SETTINGS, Settings
from service.instagram import InvalidAccessTokenError
from service.operations.thresholds import parse_duration
from service.reconcile import run as reconcile_run
from service.reconcile import triggers

# The lock's connection, the run's, and one spare.
POOL_SIZE = 3


async def reconcile(settings: Settings, *, since: str | None, account_id: str | None) -> int:
    """Run for `account_id`, or for every account answered in turn."""
    try:
        since_seconds = None if since is None else parse_duration(since)
    except ValueError as exc:
        return _refuse(f"--since: {exc}")
    settings.require(*SERVICE_SETTINGS)
    async with open_runtime(settings, pool_max_size=POOL_SIZE) as rt:
        known = await triggers.accounts(rt)
        if account_id is not None and account_id not in known:
            return _refuse(f"unknown account {account_id!r} (accounts: {', '.join(known)})")
        for account in [account_id] if account_id else known:
            try:
                result = await reconcile_run.reconcile(
                    rt, account, trigger="command", since_seconds=since_seconds, wait=True
                )
            except InvalidAccessTokenError as exc:
                return _refuse(f"the access token of account {account} was refused: {exc}")
            assert result is not None  # with wait, the run always happens
            _print(result)
    return 0


def _print(result: reconcile_run.RunResult) -> None:
    counts = result.counts
    print(
        f"account {result.account_id} since {result.since.isoformat()}: "
        f"{counts.conversations} conversations read, {counts.messages_seen} messages seen, "
        f"{counts.already_stored} already stored, {counts.recovered} recovered, "
        f"{counts.gaps} gaps, {counts.calls} calls"
    )
    for conversation_id in counts.gap_conversations:
        print(f"gap in conversation {conversation_id}: messages Meta no longer gives")


def _refuse(reason: str) -> int:
    print(f"ingest reconcile: {reason}", file=sys.stderr)
    return 2
