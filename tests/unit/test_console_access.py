"""The console's access rules without a server: signed sessions, the sign-in limit, the chart."""

from __future__ import annotations

import datetime as dt

from itsdangerous import URLSafeTimedSerializer

from service.console import chart
from service.console.access import Sessions, password_matches
from service.console.signin import safe_next
from service.console.signin_limits import (
    FAILURE_WINDOW_SECONDS,
    MAX_FAILURES,
    MAX_FAILURES_PER_MINUTE,
    SignInLimiter,
)


def test_a_session_reads_back_only_with_the_password_that_signed_it():
    cookie = Sessions("one-password-0123456").issue("ada")
    assert Sessions("one-password-0123456").operator(cookie) == "ada"
    assert Sessions("another-password-012").operator(cookie) is None
    assert Sessions("one-password-0123456").operator(cookie[:-2] + "xx") is None
    assert Sessions("one-password-0123456").operator(None) is None


def test_a_session_signed_with_the_password_itself_is_not_accepted():
    # The key is derived from the password, so knowing one cookie format gives nothing.
    forged = URLSafeTimedSerializer("one-password-0123456", salt="session").dumps(
        {"operator": "eve"}
    )
    assert Sessions("one-password-0123456").operator(forged) is None


def test_the_password_is_compared_whole():
    assert password_matches("secret-password-01", "secret-password-01")
    assert not password_matches("secret-password-0", "secret-password-01")
    assert not password_matches("", "secret-password-01")


def test_sign_ins_are_limited_per_address_until_the_failures_age_out():
    now = [1000.0]
    limiter = SignInLimiter(clock=lambda: now[0])
    for _ in range(MAX_FAILURES):
        assert limiter.wait_seconds("10.0.0.1") == 0
        limiter.failed("10.0.0.1")
    assert limiter.wait_seconds("10.0.0.1") > 0
    assert limiter.wait_seconds("10.0.0.2") == 0  # another address is not held
    now[0] += FAILURE_WINDOW_SECONDS + 1
    assert limiter.wait_seconds("10.0.0.1") == 0


def test_a_success_clears_the_address_failures():
    limiter = SignInLimiter()
    for _ in range(MAX_FAILURES - 1):
        limiter.failed("10.0.0.1")
    limiter.succeeded("10.0.0.1")
    limiter.failed("10.0.0.1")
    assert limiter.wait_seconds("10.0.0.1") == 0


def test_fresh_addresses_get_no_more_guesses_a_minute_than_the_global_cap():
    now = [1000.0]
    limiter = SignInLimiter(clock=lambda: now[0])
    for n in range(MAX_FAILURES_PER_MINUTE):
        assert limiter.wait_seconds(f"203.0.113.{n}") == 0
        limiter.failed(f"203.0.113.{n}")
    assert limiter.wait_seconds("198.51.100.7") > 0
    now[0] += 61
    assert limiter.wait_seconds("198.51.100.7") == 0


def test_a_known_device_is_not_held_by_a_strangers_failures_but_by_its_own():
    limiter = SignInLimiter()
    for _ in range(MAX_FAILURES_PER_MINUTE):
        limiter.failed("10.0.0.1")  # everyone behind one proxy
    assert limiter.wait_seconds("10.0.0.1") > 0
    assert limiter.wait_seconds("10.0.0.1", device="ada's browser") == 0
    for _ in range(MAX_FAILURES):
        limiter.failed("10.0.0.1", device="ada's browser")
    assert limiter.wait_seconds("10.0.0.1", device="ada's browser") > 0
    assert limiter.wait_seconds("10.0.0.1", device="bob's browser") == 0


def test_a_device_mark_reads_back_only_as_a_device_mark():
    devices = Sessions("one-password-0123456", purpose="device", max_age=3600)
    mark = devices.issue("ada")
    assert devices.operator(mark) == "ada"
    assert Sessions("one-password-0123456").operator(mark) is None
    assert devices.operator(Sessions("one-password-0123456").issue("ada")) is None


def test_after_sign_in_only_a_console_page_is_a_destination():
    assert safe_next("/console/failures?kind=custom") == "/console/failures?kind=custom"
    assert safe_next("https://evil.example/console") == "/console"
    assert safe_next("//evil.example") == "/console"
    assert safe_next(None) == "/console"


def test_the_chart_counts_each_minute_of_the_last_day():
    now = dt.datetime(2026, 1, 2, 12, 30, 45, tzinfo=dt.UTC)
    minute = now.replace(second=0)
    rows = [
        {"series": "received", "minute": minute, "n": 3},
        {"series": "received", "minute": minute - dt.timedelta(minutes=5), "n": 2},
        {"series": "failed", "minute": minute - dt.timedelta(hours=25), "n": 9},  # too old
    ]
    counts = chart.per_minute(rows, now)
    assert counts["received"][-1] == 3 and counts["received"][-6] == 2
    assert sum(counts["failed"]) == 0 and len(counts["sent"]) == chart.MINUTES
    svg = chart.activity_svg(counts, now)
    assert svg.startswith("<svg") and svg.count("<polyline") == 3
