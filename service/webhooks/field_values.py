"""Reading the single values of a Meta delivery (ids, timestamps, counts), and describing an
unexpected one for a warning without repeating it."""

from __future__ import annotations

import math
from typing import Any

from service.messages.field_rules import is_id
from service.messages.timestamps import is_milliseconds

_MAX_TIMESTAMP_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: beyond it no database keeps it


def count(value: object) -> int | None:
    """A non-negative count; Meta documents an integer, and a digit string is the same."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 6:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1_000_000:
        return value
    return None


def nested_id(item: dict[str, Any], key: str) -> str | None:
    holder = item.get(key)
    return ig_id(holder.get("id")) if isinstance(holder, dict) else None


def ig_id(value: object) -> str | None:
    """An id as the ingest endpoint takes one (`field_rules.is_id`); Meta sends strings, but
    a number is the same id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        # The bound keeps str() inside Python's integer-to-text limit.
        return str(value) if 0 < value < 10**64 else None
    return value if isinstance(value, str) and is_id(value) else None


def timestamp_ms(value: object) -> int | None:
    """Milliseconds since the epoch from a number or a string of digits; seconds are scaled."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        # isascii: int() also reads other scripts' digits, and the length bound keeps it cheap.
        if not (value.isascii() and value.isdigit() and len(value) <= 20):
            return None
        value = int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if not isinstance(value, (int, float)) or value <= 0:
        return None
    milliseconds = int(value if is_milliseconds(value) else value * 1000)
    return milliseconds if 0 < milliseconds <= _MAX_TIMESTAMP_MS else None


def describe(value: object) -> str:
    """A short, safe description of an unexpected value for a warning."""
    if isinstance(value, str):
        return repr(value[:40])
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    names = {dict: "an object", list: "a list", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)
