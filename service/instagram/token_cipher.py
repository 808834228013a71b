"""The access token at rest: Fernet encryption under TOKEN_ENCRYPTION_KEY, and a keyed
digest to tell tokens apart without keeping or comparing plaintexts.

The digest is HMAC-SHA256 under a key derived from TOKEN_ENCRYPTION_KEY, so a copy of the
table alone does not let anyone test a guessed token against it.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken

# A fixed key for `ingest dev` only (its sandbox token is no secret); production refuses it.
DEV_TOKEN_ENCRYPTION_KEY = "ZGV2ZWxvcG1lbnQtb25seS1rZXktZm9yLWluZ2VzdC0="
_DIGEST_CONTEXT = b"reeva-ingest access token digest"


class UndecryptableToken(Exception):
    """The stored token was encrypted under another TOKEN_ENCRYPTION_KEY (or is corrupt)."""


def new_key() -> str:
    """A fresh key for TOKEN_ENCRYPTION_KEY."""
    return Fernet.generate_key().decode("ascii")


def is_valid_key(key: str) -> bool:
    try:
        Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False
    return True


class TokenCipher:
    def __init__(self, key: str) -> None:
        raw = key.encode("ascii")
        self._fernet = Fernet(raw)
        self._digest_key = hmac.new(raw, _DIGEST_CONTEXT, hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "TokenCipher(<key>)"

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise UndecryptableToken(
                "the stored access token cannot be decrypted with TOKEN_ENCRYPTION_KEY "
                "(was the key changed? `ingest token set` stores the token again)"
            ) from None

    def digest(self, token: str) -> str:
        return hmac.new(self._digest_key, token.encode("utf-8"), hashlib.sha256).hexdigest()
