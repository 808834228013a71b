"""The id rule that the ingest endpoint and the webhook parser share."""

from __future__ import annotations

import sys
import unicodedata

import msgspec
import pytest

from service.messages.field_rules import Id, is_id

# Control, format (invisible) and surrogate characters.
UNSEEN_CATEGORIES = {"Cc", "Cf", "Cs"}


def endpoint_takes(value: str) -> bool:
    try:
        msgspec.convert(value, Id)
    except msgspec.ValidationError:
        return False
    return True


def test_no_id_holds_a_control_invisible_or_surrogate_character() -> None:
    # Every code point of this Python's Unicode database: a newer one that adds such a
    # character shows here, and the rule's list is brought up to date.
    allowed_unseen = [
        hex(point)
        for point in range(sys.maxunicode + 1)
        if unicodedata.category(chr(point)) in UNSEEN_CATEGORIES and is_id(f"a{chr(point)}b")
    ]

    assert allowed_unseen == []


@pytest.mark.parametrize(
    "value",
    ["1254001234567890", "aWdfZAG1faWdfZAGI=", "mid.$cAAB-_x", "Ünïcödé", "a b", "m" * 256],
)
def test_ids_meta_sends_are_ids(value: str) -> None:
    assert is_id(value) and endpoint_takes(value)


@pytest.mark.parametrize(
    "value", ["", " ", "\u3000\xa0", "m" * 257, "a\x1bb", "a\u200bb", "\u202eab", "\ufeff"]
)
def test_blank_long_or_unseen_ids_are_refused_by_both_readers(value: str) -> None:
    assert not is_id(value) and not endpoint_takes(value)
