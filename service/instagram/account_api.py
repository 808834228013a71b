"""The Graph API calls about the account itself rather than a DM: refreshing the
long-lived access token, and reading and setting the app's webhook subscription.

    GET {host}/refresh_access_token?grant_type=ig_refresh_token&access_token=...
        -> {"access_token", "token_type", "expires_in"}   (no version in the path)
    GET {base}/{scoped_id}/subscribed_apps  -> {"data": [{"id", "subscribed_fields": [...]}]}
    POST {base}/{scoped_id}/subscribed_apps?subscribed_fields=a,b  -> {"success": true}
    GET {base}/me?fields=user_id,username  -> {"id", "user_id", "username"}

Failures raise the `graph_errors` tree, with the token redacted from every message.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import httpx

from service.instagram.client import describe_transport
from service.instagram.graph_errors import GraphError, TransientGraphError, error_from_response

# The fields the service reads (docs/webhooks.md): what `ingest subscribe` asks for.
WEBHOOK_FIELDS = (
    "messages",
    "messaging_postbacks",
    "messaging_seen",
    "message_reactions",
    "messaging_referral",
    "message_edit",
)
REQUIRED_FIELD = "messages"
_VERSION = re.compile(r"/v\d+(\.\d+)?$")


def host_url(base_url: str) -> str:
    """INSTAGRAM_API_BASE_URL without its version path (`.../v24.0` -> `...`)."""
    return _VERSION.sub("", base_url.rstrip("/"))


@dataclasses.dataclass(frozen=True)
class RefreshedToken:
    access_token: str = dataclasses.field(repr=False)
    expires_in: float


@dataclasses.dataclass(frozen=True)
class Subscription:
    app_id: str
    fields: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class TokenOwner:
    """The account a token speaks as: its `user_id` (the webhook's `entry[].id`, the id in
    the Send API's path), not the app-scoped `id`."""

    user_id: str
    username: str | None


async def token_owner(http: httpx.AsyncClient, base_url: str, token: str) -> TokenOwner:
    url = f"{base_url.rstrip('/')}/me"
    document = await _call(http, "GET", url, token, params={"fields": "user_id,username"})
    user_id, username = document.get("user_id"), document.get("username")
    if not isinstance(user_id, (str, int)) or isinstance(user_id, bool) or not str(user_id):
        raise GraphError("the /me answer has no user_id")
    return TokenOwner(str(user_id), username if isinstance(username, str) else None)


async def refresh_token(http: httpx.AsyncClient, base_url: str, token: str) -> RefreshedToken:
    url = f"{host_url(base_url)}/refresh_access_token"
    params = {"grant_type": "ig_refresh_token", "access_token": token}
    document = await _call(http, "GET", url, token, params=params)
    value, expires_in = document.get("access_token"), document.get("expires_in")
    if not isinstance(value, str) or not value or not isinstance(expires_in, (int, float)):
        raise GraphError("the refresh answer has no access_token and expires_in")
    return RefreshedToken(access_token=value, expires_in=float(expires_in))


async def subscriptions(
    http: httpx.AsyncClient, base_url: str, scoped_id: str, token: str
) -> list[Subscription]:
    url = f"{base_url.rstrip('/')}/{scoped_id}/subscribed_apps"
    document = await _call(http, "GET", url, token)
    apps = document.get("data")
    if not isinstance(apps, list):
        raise GraphError("the subscribed_apps answer has no data list")
    found = []
    for app in apps:
        if not isinstance(app, dict):
            continue
        fields = app.get("subscribed_fields")
        names = [
            f if isinstance(f, str) else f.get("name") if isinstance(f, dict) else None
            for f in (fields if isinstance(fields, list) else [])
        ]
        found.append(Subscription(str(app.get("id", "")), tuple(n for n in names if n)))
    return found


async def subscribe(
    http: httpx.AsyncClient,
    base_url: str,
    scoped_id: str,
    token: str,
    fields: tuple[str, ...] = WEBHOOK_FIELDS,
) -> dict[str, Any]:
    """Meta's answer, as it came (`{"success": true}`)."""
    url = f"{base_url.rstrip('/')}/{scoped_id}/subscribed_apps"
    return await _call(http, "POST", url, token, params={"subscribed_fields": ",".join(fields)})


async def get_json(
    http: httpx.AsyncClient, url: str, token: str, *, params: dict[str, str] | None = None
) -> dict[str, Any]:
    """A Graph API read's JSON object (the Conversations API's calls among them)."""
    return await _call(http, "GET", url, token, params=params)


async def _call(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    token: str,
    *,
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    try:
        response = await http.request(method, url, params=params, headers=headers)
    except httpx.HTTPError as exc:
        raise TransientGraphError(describe_transport(exc, token)) from exc
    if not response.is_success:
        raise error_from_response(
            response.status_code, response.headers, response.content, redact=token
        )
    try:
        document = json.loads(response.content)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise GraphError(
            f"the Graph API answered HTTP {response.status_code} without a JSON object"
        )
    return document
