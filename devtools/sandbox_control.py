"""The sandbox's control endpoints (`/_sandbox/...`), through which another process (a
fault test's worker, `ingest dev`'s inbox) reads and scripts the sandbox
(`devtools.sandbox`): one function per endpoint, found by method and path."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devtools.sandbox import Sandbox

Answer = tuple[int, Any]
_ACCOUNT_PATHS = (
    "/_sandbox/accounts",
    "/_sandbox/account",
    "/_sandbox/revoke",
    "/_sandbox/unsubscribe",
)
_OBJECT_PATHS = ("/_sandbox/profiles", "/_sandbox/media", "/_sandbox/reads")


def control(sandbox: Sandbox, method: str, path: str, raw: bytes) -> Answer:
    """The answer of control endpoint `method path` to the body `raw`."""
    if path in _ACCOUNT_PATHS or path in _OBJECT_PATHS:
        return _accounts(sandbox, method, path, raw)
    endpoint = _ENDPOINTS.get((method, path))
    if endpoint is None:
        return _unknown(method, path)
    return endpoint(sandbox, raw)


def _messages(sandbox: Sandbox, raw: bytes) -> Answer:
    return 200, [message.listed() for message in sandbox.messages()]


def _requests(sandbox: Sandbox, raw: bytes) -> Answer:
    return 200, sandbox.counts()


def _reset(sandbox: Sandbox, raw: bytes) -> Answer:
    sandbox.reset()
    return 200, {"reset": True}


def _rate_limit(sandbox: Sandbox, raw: bytes) -> Answer:
    return _per_second(raw, sandbox.limit_rate)


def _conversations_rate_limit(sandbox: Sandbox, raw: bytes) -> Answer:
    return _per_second(raw, sandbox.conversations.limit_rate)


def _per_second(raw: bytes, limit: Callable[[float], None]) -> Answer:
    try:
        per_second = float(json.loads(raw)["per_second"])
    except (ValueError, TypeError, KeyError):
        return 400, {"error": 'the body must be {"per_second": <number>}'}
    limit(per_second)
    return 200, {"per_second": per_second}


def _script(sandbox: Sandbox, raw: bytes) -> Answer:
    try:
        document = json.loads(raw)
        items = document if isinstance(document, list) else [document]
        return 200, {"scripted": sandbox.script(*items)}
    except (ValueError, TypeError) as exc:
        return 400, {"error": f"bad script: {exc}"}


def _record_conversations(sandbox: Sandbox, raw: bytes) -> Answer:
    try:
        document = json.loads(raw)
        recorded = sandbox.conversations.record_all(
            str(document["account_id"]), list(document["messages"])
        )
    except (ValueError, TypeError, KeyError) as exc:
        return 400, {"error": f'the body must be {{"account_id", "messages": [...]}}: {exc}'}
    return 200, {"recorded": recorded}


def _conversation_counts(sandbox: Sandbox, raw: bytes) -> Answer:
    return 200, sandbox.conversations.counts()


def _accounts(sandbox: Sandbox, method: str, path: str, raw: bytes) -> Answer:
    try:
        document = json.loads(raw) if raw else None
    except ValueError:
        return 400, {"error": "the body must be JSON"}
    registry = sandbox.accounts if path in _ACCOUNT_PATHS else sandbox.objects
    return registry.control(method, path, document) or _unknown(method, path)


def _unknown(method: str, path: str) -> Answer:
    return 404, {"error": f"unknown control endpoint {method} {path}"}


_ENDPOINTS: dict[tuple[str, str], Callable[[Sandbox, bytes], Answer]] = {
    ("GET", "/_sandbox/messages"): _messages,
    ("GET", "/_sandbox/requests"): _requests,
    ("POST", "/_sandbox/reset"): _reset,
    ("POST", "/_sandbox/rate-limit"): _rate_limit,
    ("POST", "/_sandbox/script"): _script,
    ("POST", "/_sandbox/conversations"): _record_conversations,
    ("GET", "/_sandbox/conversations"): _conversation_counts,
    ("POST", "/_sandbox/conversations/rate-limit"): _conversations_rate_limit,
}
