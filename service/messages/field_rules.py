"""The rules an inbound event's fields follow, wherever the event comes from: the ingest
endpoint's request types (`service.messages.inbound`, `service.messages.edits`) are built
from them, and the webhook parser (`service.webhooks`) reads Meta's ids with `is_id` and
checks each event it reads against those request types, so that what the parser accepts the
endpoint takes, and what it refuses the endpoint would refuse.
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

ID_MAX_LENGTH = 256
# The characters no id may hold: control characters (C0, DEL, C1: an ESC in an id would drive
# an operator's terminal, and Postgres text cannot hold NUL), invisible format characters
# (zero-width spaces and joiners, bidirectional overrides that reorder what an operator reads,
# the byte-order mark, ...) and lone surrogates (not UTF-8): Unicode's categories Cc, Cf and
# Cs, as of Unicode 14 (tests/unit/test_field_rules.py checks them against `unicodedata`).
# Written as regex escapes, not the characters: the pattern goes into the OpenAPI schema,
# and JSON text cannot hold a lone surrogate.
_UNSEEN = (
    r"\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e"
    r"\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb"
    r"\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    r"\U000e0001\U000e0020-\U000e007f"
)
# None of those, and not only whitespace.
ID_PATTERN = rf"^[^{_UNSEEN}]*[^{_UNSEEN}\s][^{_UNSEEN}]*$"
_ID = re.compile(ID_PATTERN)

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
# Message text: any text Postgres can hold (no NUL), up to a bound no DM comes near.
Text = Annotated[str, msgspec.Meta(max_length=100_000, pattern=r"^[^\x00]*$")]


def is_id(value: str) -> bool:
    """Whether `value` is an `Id`: the same rule, for a reader that is not decoding a request."""
    # The length first, as msgspec checks it: the pattern then never runs on a long string.
    return 0 < len(value) <= ID_MAX_LENGTH and _ID.search(value) is not None
