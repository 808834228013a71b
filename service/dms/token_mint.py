"""Verification tokens: 32 random bytes as hex; only their SHA-256 hex digest is stored."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets


@dataclasses.dataclass(frozen=True)
class MintedToken:
    plaintext: str = dataclasses.field(repr=False)
    hash: str


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def mint() -> MintedToken:
    plaintext = secrets.token_hex(32)
    return MintedToken(plaintext=plaintext, hash=hash_token(plaintext))
