"""The `graph_access_tokens` table: each account's access token, encrypted, and its
lifecycle (issued, expires, refreshed, refused). Callers pass ciphertexts and digests:
no plaintext token reaches this module."""

from __future__ import annotations

from service.core.db import Connection
from service.store.queries import fetch_one, query
from service.store.rows import StoredAccessToken, from_row

_GET = query("graph_access_tokens_get", returns=StoredAccessToken)
_SEED = query("graph_access_tokens_seed")
_SET = query("graph_access_tokens_set")
_REFRESHED = query("graph_access_tokens_refreshed")
_REFRESH_FAILED = query("graph_access_tokens_refresh_failed")
_MARK_INVALID = query("graph_access_tokens_mark_invalid")


async def get(conn: Connection, scoped_id: str) -> StoredAccessToken | None:
    row = await fetch_one(conn, _GET, {"scoped_id": scoped_id})
    return None if row is None else from_row(StoredAccessToken, row)


async def seed(
    conn: Connection, *, scoped_id: str, ciphertext: str, digest: str, lifetime_seconds: float
) -> bool:
    """Store the setting's token unless it was seeded before; True when stored."""
    params = {
        "scoped_id": scoped_id,
        "ciphertext": ciphertext,
        "digest": digest,
        "lifetime_seconds": lifetime_seconds,
    }
    return await fetch_one(conn, _SEED, params) is not None


async def store_set(
    conn: Connection,
    *,
    scoped_id: str,
    ciphertext: str,
    digest: str,
    seed_digest: str | None,
    lifetime_seconds: float,
) -> None:
    await conn.execute(
        _SET,
        {
            "scoped_id": scoped_id,
            "ciphertext": ciphertext,
            "digest": digest,
            "seed_digest": seed_digest,
            "lifetime_seconds": lifetime_seconds,
        },
    )


async def store_refreshed(
    conn: Connection,
    *,
    scoped_id: str,
    old_digest: str,
    ciphertext: str,
    digest: str,
    expires_in: float,
) -> bool:
    """Replace the refreshed token; False when another was stored meanwhile."""
    params = {
        "scoped_id": scoped_id,
        "old_digest": old_digest,
        "ciphertext": ciphertext,
        "digest": digest,
        "expires_in": expires_in,
    }
    return await fetch_one(conn, _REFRESHED, params) is not None


async def refresh_failed(conn: Connection, *, scoped_id: str, error: str) -> None:
    await conn.execute(_REFRESH_FAILED, {"scoped_id": scoped_id, "error": error})


async def mark_invalid(conn: Connection, *, scoped_id: str, digest: str, error: str) -> None:
    await conn.execute(_MARK_INVALID, {"scoped_id": scoped_id, "digest": digest, "error": error})
