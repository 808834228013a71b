"""The DM texts, in the product's fixed wording."""

from __future__ import annotations

from urllib.parse import quote

ACKNOWLEDGEMENT = "Hi! Send your reels and posts here and we'll save them to your Reeva library."
_VERIFICATION = (
    "Hey — welcome to Reeva! It looks like you haven't connected your Instagram account "
    "to Reeva yet. Click the link below to connect and view your saved reels and posts:"
    "\n\n{base}?token={token}&ig_id={ig_id}"
)
# What an outbound row keeps in place of the token: the plaintext is never stored.
REDACTED_TOKEN = "<TOKEN>"


def verification(*, verify_url_base: str, token: str, ig_id: str) -> str:
    return _VERIFICATION.format(
        base=verify_url_base, token=quote(token, safe=""), ig_id=quote(ig_id, safe="")
    )


def verification_redacted(*, verify_url_base: str, ig_id: str) -> str:
    return _VERIFICATION.format(
        base=verify_url_base, token=REDACTED_TOKEN, ig_id=quote(ig_id, safe="")
    )
