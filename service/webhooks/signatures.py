"""How Meta proves a webhook request is its own (Meta's "Webhooks" getting-started guide).

- The subscription handshake: `GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...`
  is answered with the challenge when the verify token is the one typed into the dashboard.
- Every delivery: `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw body (the
  exact bytes, before any JSON decoding) keyed with the app secret.

Both comparisons run in constant time, so timing reveals nothing about the secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from service.core.errors import Forbidden, Unauthenticated

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")


def challenge_answer(
    *, expected_token: str | None, mode: str | None, token: str | None, challenge: str | None
) -> str:
    """The challenge to echo back; `Forbidden` unless the handshake is complete and right."""
    if not expected_token:
        raise Forbidden(
            "webhook verification is not configured (INSTAGRAM_WEBHOOK_VERIFICATION_TOKEN is unset)"
        )
    if mode != "subscribe" or token is None or challenge is None:
        raise Forbidden("expected hub.mode=subscribe, hub.verify_token and hub.challenge")
    if not hmac.compare_digest(token.encode(), expected_token.encode()):
        raise Forbidden("hub.verify_token does not match")
    return challenge


def signature(secret: str, body: bytes) -> str:
    """The header value Meta sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> None:
    """Raise `Unauthenticated` (no or malformed header) or `Forbidden` (wrong signature)."""
    if not header:
        raise Unauthenticated(f"missing {SIGNATURE_HEADER} header")
    given = _SIGNATURE.fullmatch(header.strip())
    if given is None:
        raise Unauthenticated(f"malformed {SIGNATURE_HEADER} header: expected sha256=<hex>")
    if not hmac.compare_digest(signature(secret, body), "sha256=" + given[1].lower()):
        raise Forbidden(f"{SIGNATURE_HEADER} does not match the body")
