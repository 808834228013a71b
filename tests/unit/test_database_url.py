"""DATABASE_URL at start: a URL libpq cannot read is named in one line that never holds
the password."""

from __future__ import annotations

import pytest

from service.core.db import check_database_url, describe_unreachable
from service.core.settings import SettingsError


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://reeva:s3cretpw@[::1/reeva",
        "postgresql://reeva:s3cret%zzpw@db.internal/reeva",
        "postgresql://reeva:s3cret%00pw@db.internal/reeva",
        "host=db.internal password=s3cretpw dbname",
        "host=db.internal password='s3cretpw",
        "postgresql://reeva:s3cretpw@db.internal:five/reeva",
        "s3cretpw",
    ],
)
def test_a_malformed_url_is_named_in_one_line_without_the_password(url):
    with pytest.raises(SettingsError) as raised:
        check_database_url(url)
    message = str(raised.value)
    assert message.startswith("setting DATABASE_URL is malformed: ")
    assert "\n" not in message and "s3cret" not in message


def test_the_reason_keeps_the_keyword_libpq_names():
    with pytest.raises(SettingsError, match='URI query parameter: "sslmode"'):
        check_database_url("postgresql://reeva:s3cretpw@db.internal/reeva?sslmode")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://reeva:s3cretpw@db.internal:6543/reeva?sslmode=require",
        "postgresql://reeva@127.0.0.1/reeva",
        "host=a.internal,b.internal port=5432,5433 dbname=reeva",
        "postgresql:///reeva?host=/var/run/postgresql",
    ],
)
def test_a_well_formed_url_passes(url):
    check_database_url(url)


def test_an_unreachable_database_is_described_in_one_line_without_the_password():
    error = OSError('connection to "db.internal" failed:\n\tFATAL: user s3cretpw unknown')
    described = describe_unreachable(error, "postgresql://reeva:s3cretpw@db.internal/reeva")
    assert described == 'connection to "db.internal" failed: FATAL: user [redacted] unknown'
