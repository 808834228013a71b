"""Instagram Graph API client: one text DM per call, and reads of one object (a user's
profile, a message) as the account; failures as `graph_errors` types.

The process owns one keep-alive `httpx.AsyncClient` (see `build_http_client`) and hands it to
every `GraphClient`, so sends reuse connections instead of paying a TLS handshake each.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import urllib.parse
from typing import Any, Protocol

import httpx

from service.instagram.graph_errors import (
    DeliveredWithError,
    InvalidAccessTokenError,
    PermanentGraphError,
    TransientGraphError,
    error_from_response,
)

MAX_TEXT_BYTES = 1000
"""The Send API's limit on a text message, in UTF-8 bytes."""

USER_AGENT = "reeva-ingest"
_CONNECTIONS_PER_POOL = 8


def text_fits(text: str) -> bool:
    """Whether `text` is within the Send API's limit (UTF-8 bytes, not characters)."""
    return len(text.encode("utf-8")) <= MAX_TEXT_BYTES


def build_http_client(
    timeout_seconds: float, *, max_connections: int = 100, max_keepalive_connections: int = 100
) -> httpx.AsyncClient:
    """The process's shared client (Graph API calls, webhook forwarding); the caller closes
    it (`aclose`) at shutdown."""
    timeout = httpx.Timeout(
        connect=min(timeout_seconds, 5.0),  # a slow handshake is a dead host, not a slow answer
        read=timeout_seconds,
        write=timeout_seconds,
        pool=timeout_seconds,
    )
    shards = max(1, -(-max_connections // _CONNECTIONS_PER_POOL))
    per_pool = -(-max_connections // shards)
    # Keep-alive limit = connection limit: with fewer, httpcore closes idle connections as soon
    # as the pool holds more than that many in total, and reconnects churn. A short expiry
    # (20 s) lets the client, not the server, close idle connections in most cases.
    limits = httpx.Limits(
        max_connections=per_pool, max_keepalive_connections=per_pool, keepalive_expiry=20.0
    )
    # retries=1 re-attempts only failed connects, where no request has left: never a duplicate.
    # One TLS context for all pools: each costs a CA bundle load.
    tls = httpx.create_ssl_context()
    pools = [httpx.AsyncHTTPTransport(verify=tls, limits=limits, retries=1) for _ in range(shards)]
    # A redirect from the Send API would be a misconfigured base URL: surface it, never follow.
    return httpx.AsyncClient(
        transport=pools[0] if shards == 1 else _RoundRobinPools(pools),
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )


class _RoundRobinPools(httpx.AsyncBaseTransport):
    """Spreads requests over several small connection pools.

    httpcore's pool does work quadratic in its connection count on every request
    (encode/httpx#3215); on loopback at 50 ms latency one pool of 64 managed ~90 sends/s,
    eight pools of 8 ~1000/s.
    """

    def __init__(self, pools: list[httpx.AsyncHTTPTransport]) -> None:
        self._pools = pools
        self._next = itertools.cycle(pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await next(self._next).handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


@dataclasses.dataclass(frozen=True)
class SendResult:
    recipient_id: str
    message_id: str


@dataclasses.dataclass(frozen=True)
class CurrentToken:
    """The access token to call with; `digest` names it (keyed hash) when it is the
    stored one, so that a refusal marks that token and no newer one."""

    value: str = dataclasses.field(repr=False)
    digest: str | None = None


class TokenSource(Protocol):
    async def current(self) -> CurrentToken: ...


class StaticToken:
    """A token fixed for the process's life (INSTAGRAM_ACCESS_TOKEN, no key to store it)."""

    def __init__(self, token: str) -> None:
        self._token = CurrentToken(token)

    def __repr__(self) -> str:
        return "StaticToken(<token>)"

    async def current(self) -> CurrentToken:
        return self._token


class GraphClient:
    """Sends text DMs as one Instagram professional account (`scoped_id`, or `me`), with
    the token that `access_token` gives at each call (a string: always that one)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        scoped_id: str,
        access_token: str | TokenSource,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._url = f"{self._base}/{scoped_id}/messages"
        self._tokens = StaticToken(access_token) if isinstance(access_token, str) else access_token

    def __repr__(self) -> str:
        return f"GraphClient(url={self._url!r})"

    async def send_text(self, recipient_id: str, text: str) -> SendResult:
        """Send one DM; raise a `GraphError` subclass on any failure (see `errors`)."""
        if not text_fits(text):
            size = len(text.encode("utf-8"))
            raise PermanentGraphError(f"text is {size} bytes; the limit is {MAX_TEXT_BYTES}")
        body = {"recipient": {"id": recipient_id}, "message": {"text": text}}
        # Timeouts are retried, accepting that a read timeout after Meta accepted the DM may
        # duplicate it (docs/reliability.md).
        response = await self._request("POST", self._url, json=body)
        return self._result(response, recipient_id)

    async def read(self, object_id: str, fields: str) -> dict[str, Any]:
        """`GET /{object_id}?fields=...` as the account (a user's profile, a message):
        the answer's object; a `GraphError` subclass on any failure, as for a send."""
        # Quoted whole: an id from outside never reaches another path of the API.
        url = f"{self._base}/{urllib.parse.quote(object_id, safe='')}"
        response = await self._request("GET", url, params={"fields": fields})
        try:
            document = json.loads(response.content)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise TransientGraphError(
                "the Graph API answered without a JSON object", http_status=response.status_code
            )
        return document

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A call with the current token; a 2xx answer, else the `GraphError` it comes to
        (a 190 naming the token it refused, so that only that one is marked invalid)."""
        token = await self._tokens.current()
        headers = {"Authorization": f"Bearer {token.value}"}
        try:
            response = await self._http.request(method, url, headers=headers, **kwargs)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            # Configuration, not the network: every retry would fail the same way.
            raise PermanentGraphError(describe_transport(exc, token.value)) from exc
        except httpx.TransportError as exc:
            raise TransientGraphError(describe_transport(exc, token.value)) from exc
        if not response.is_success:
            error = error_from_response(
                response.status_code, response.headers, response.content, redact=token.value
            )
            if isinstance(error, InvalidAccessTokenError):
                error.token_digest = token.digest
            raise error
        return response

    def _result(self, response: httpx.Response, recipient_id: str) -> SendResult:
        try:
            document = json.loads(response.content)
        except ValueError:
            document = None
        message_id = document.get("message_id") if isinstance(document, dict) else None
        if not isinstance(message_id, str) or not message_id:
            # A 2xx means Meta took the DM; sending again would duplicate it.
            raise DeliveredWithError(
                "Graph API answered success without a message_id",
                http_status=response.status_code,
                fbtrace_id=response.headers.get("x-fb-trace-id"),
            )
        recipient = document.get("recipient_id")
        return SendResult(
            recipient_id=recipient if isinstance(recipient, str) and recipient else recipient_id,
            message_id=message_id,
        )


def describe_transport(exc: Exception, token: str) -> str:
    """A transport error's line, without the token (an httpx error may quote the URL)."""
    message = f"{type(exc).__name__} calling the Graph API: {str(exc) or 'no detail'}"
    return message.replace(token, "[redacted]") if token else message
