"""send-dm's `Idempotency-Key`: which keys are accepted, and what is kept of a key and of
its request (their SHA-256 digests), so that a repeated request answers the first one's DM
and a key reused for another DM is refused."""

from __future__ import annotations

import hashlib
import json
import re

from service.core.errors import MalformedRequest

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Printable ASCII, neither starting nor ending with a space: what a caller's UUID, ULID or
# "order-1234" is, and nothing that two proxies could pass on differently.
_KEY = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")
# A key is kept at least this long (a day), then deleted by the hourly retention.
RETENTION_SECONDS = 24 * 3600


def check_key(key: str) -> str:
    if len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise MalformedRequest(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters, "
            "without leading or trailing spaces"
        )
    return key


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def request_hash(**fields: str) -> str:
    """The digest of a request's fields, whatever order or spacing its JSON had."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
