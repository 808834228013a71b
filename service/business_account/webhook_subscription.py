"""The webhook subscription watchdog: Meta disables an app's subscription after about an
hour of failed deliveries, and then nothing arrives and nothing errs. So the service reads
`GET /{scoped_id}/subscribed_apps` every hour (and at `ingest status --check-remote`),
records what it found for the `webhook_subscription` check, and sets a gauge; `ingest
subscribe` subscribes the account again. A subscription found again after it was lost is
`restored`: its callers then queue a reconciliation (`service.reconcile`), to recover what
Meta dropped meanwhile.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from service.core import metrics
from service.core.runtime import Runtime
from service.instagram import GraphError, account_api
from service.store import webhook_subscription_checks as store


@dataclasses.dataclass(frozen=True)
class SubscriptionCheck:
    subscribed: bool
    fields: tuple[str, ...]
    error: str | None
    restored: bool = False  # subscribed, where the check before found it not


async def check(rt: Runtime, scoped_id: str) -> SubscriptionCheck:
    """Read the account's subscription, record it, and set the gauge."""
    s = rt.settings
    try:
        token = await rt.accounts.tokens(scoped_id).current()
        apps = await account_api.subscriptions(
            rt.http, s.instagram_api_base_url, scoped_id, token.value
        )
    except GraphError as exc:
        result = SubscriptionCheck(False, (), f"reading subscribed_apps failed: {exc}")
    else:
        fields = tuple(sorted({field for app in apps for field in app.fields}))
        subscribed = account_api.REQUIRED_FIELD in fields
        error = None
        if not apps:
            error = "no app is subscribed to the account's webhooks (`ingest subscribe`)"
        elif not subscribed:
            error = (
                f"the subscription lacks the `{account_api.REQUIRED_FIELD}` field "
                "(`ingest subscribe`)"
            )
        result = SubscriptionCheck(subscribed, fields, error)
    async with rt.pool.connection() as conn:
        was_unsubscribed = await store.record(
            conn,
            scoped_id=scoped_id,
            subscribed=result.subscribed,
            fields=list(result.fields),
            error=result.error,
        )
    metrics.WEBHOOK_SUBSCRIBED.labels(scoped_id).set(int(result.subscribed))
    return dataclasses.replace(result, restored=was_unsubscribed and result.subscribed)


async def check_all(rt: Runtime) -> dict[str, SubscriptionCheck]:
    """`check` for every account answered."""
    return {account: await check(rt, account) for account in sorted(await rt.accounts.answered())}


async def subscribe(rt: Runtime, scoped_id: str) -> dict[str, Any]:
    """Subscribe the account to the fields the service reads; Meta's answer."""
    token = await rt.accounts.tokens(scoped_id).current()
    return await account_api.subscribe(
        rt.http, rt.settings.instagram_api_base_url, scoped_id, token.value
    )
