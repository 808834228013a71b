"""Event timestamps: Unix seconds or milliseconds, as numbers or digits, or ISO 8601; and
every unreadable one a ValueError with a message fit for the caller."""

from __future__ import annotations

import datetime as dt

import pytest

from service.messages.timestamps import is_milliseconds, parse_event_timestamp


def utc(year: int, month: int, day: int, hour=0, minute=0, second=0, micro=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "number, milliseconds",
    [
        (0, False),
        (1_734_123_456, False),
        (10**12 - 1, False),  # as seconds the year 33658, but never milliseconds
        (999_999_999_999.9, False),
        (10**12, True),  # 2001-09-09 in milliseconds
        (1_734_123_456_789, True),
        (10**400, True),
    ],
)
def test_below_a_trillion_a_unix_time_is_seconds_from_there_milliseconds(number, milliseconds):
    assert is_milliseconds(number) is milliseconds


@pytest.mark.parametrize(
    "value, expected",
    [
        (1_734_123_456, utc(2024, 12, 13, 20, 57, 36)),
        (1_734_123_456_789, utc(2024, 12, 13, 20, 57, 36, 789_000)),
        (1_734_123_456.789, utc(2024, 12, 13, 20, 57, 36, 789_000)),
        ("1734123456", utc(2024, 12, 13, 20, 57, 36)),
        ("1734123456789", utc(2024, 12, 13, 20, 57, 36, 789_000)),
        ("1734123456.789", utc(2024, 12, 13, 20, 57, 36, 789_000)),
        (" 1734123456 ", utc(2024, 12, 13, 20, 57, 36)),
        (0, utc(1970, 1, 1)),
        (-0.0, utc(1970, 1, 1)),
        (10**12, utc(2001, 9, 9, 1, 46, 40)),
        (253_402_300_799, utc(9999, 12, 31, 23, 59, 59)),
    ],
)
def test_unix_seconds_and_milliseconds_as_numbers_or_digits(value, expected):
    assert parse_event_timestamp(value) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-12-13T20:57:36Z", utc(2024, 12, 13, 20, 57, 36)),
        ("2024-12-13T20:57:36.5+00:00", utc(2024, 12, 13, 20, 57, 36, 500_000)),
        ("2024-12-13T22:57:36+02:00", utc(2024, 12, 13, 20, 57, 36)),
        ("2024-12-13T20:57:36", utc(2024, 12, 13, 20, 57, 36)),  # no offset: UTC
        ("2024-12-13", utc(2024, 12, 13)),
    ],
)
def test_iso_8601_is_read_as_utc(text, expected):
    parsed = parse_event_timestamp(text)
    assert parsed == expected and parsed.tzinfo == dt.UTC


@pytest.mark.parametrize(
    "value, message",
    [
        (True, "timestamp must be Unix seconds, milliseconds or ISO 8601"),
        (False, "timestamp must be Unix seconds, milliseconds or ISO 8601"),
        ("yesterday", "timestamp must be Unix seconds, milliseconds or ISO 8601"),
        ("", "timestamp must be Unix seconds, milliseconds or ISO 8601"),
        ("2024-13-40", "timestamp must be Unix seconds, milliseconds or ISO 8601"),
        (-5, "timestamp must be a non-negative Unix time"),
        ("-5", "timestamp must be a non-negative Unix time"),
        (float("nan"), "timestamp must be a non-negative Unix time"),
        ("nan", "timestamp must be a non-negative Unix time"),
        ("-inf", "timestamp must be a non-negative Unix time"),
        (-(10**400), "timestamp must be a non-negative Unix time"),
        (10**12 - 1, "timestamp is out of range"),  # seconds: the year 33658
        (253_402_300_800, "timestamp is out of range"),  # the year 10000, in seconds
        (253_402_300_800_000, "timestamp is out of range"),  # and in milliseconds
        (10**30, "timestamp is out of range"),
        (1e300, "timestamp is out of range"),
        (float("inf"), "timestamp is out of range"),
        ("inf", "timestamp is out of range"),
        ("1e400", "timestamp is out of range"),
        (10**400, "timestamp is out of range"),  # beyond any float
        ("9999-12-31T23:00:00-05:00", "timestamp is out of range"),  # past 9999 in UTC
        ("0001-01-01T00:00:00+05:00", "timestamp is out of range"),  # before year 1 in UTC
    ],
)
def test_an_unreadable_timestamp_is_a_value_error_that_says_why(value, message):
    with pytest.raises(ValueError) as raised:
        parse_event_timestamp(value)
    assert str(raised.value) == message
