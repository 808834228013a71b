"""Event timestamps as Instagram and callers send them."""

from __future__ import annotations

import datetime as dt

# Meta sends milliseconds; anything below this many is taken as seconds.
_MILLISECONDS_FROM = 10**12


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
        number = float(value)
    if number != number or number < 0:  # NaN or negative
        raise ValueError("timestamp must be a non-negative Unix time")
    seconds = number / 1000 if number >= _MILLISECONDS_FROM else number
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError("timestamp is out of range") from None


def _parse_iso(text: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("timestamp must be Unix seconds, milliseconds or ISO 8601") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)
