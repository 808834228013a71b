"""Event timestamps as Instagram and callers send them, and the one rule that tells Unix
seconds from milliseconds (the webhook parser reads Meta's times by it too)."""

from __future__ import annotations

import datetime as dt
import math

# Meta sends milliseconds. Below this many (2001-09-09 in milliseconds) a number can only be
# seconds: as seconds it is already the year 33658.
_MILLISECONDS_FROM = 10**12


def is_milliseconds(number: float) -> bool:
    """Whether a Unix time is in milliseconds rather than seconds."""
    return number >= _MILLISECONDS_FROM


def parse_event_timestamp(value: str | int | float) -> dt.datetime:
    """Unix seconds or milliseconds (number or digit string), or ISO 8601, as UTC.

    Raises ValueError with a message fit for an API error.
    """
    if isinstance(value, bool):
        raise ValueError("timestamp must be Unix seconds, milliseconds or ISO 8601")
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            return _parse_iso(text)
    else:
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float: as good as infinite
            number = math.inf if value > 0 else -math.inf
    if math.isnan(number) or number < 0:
        raise ValueError("timestamp must be a non-negative Unix time")
    seconds = number / 1000 if is_milliseconds(number) else number
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):  # infinity among them
        raise ValueError("timestamp is out of range") from None


def _parse_iso(text: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("timestamp must be Unix seconds, milliseconds or ISO 8601") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # an offset that moves it past year 1 or 9999
        raise ValueError("timestamp is out of range") from None
