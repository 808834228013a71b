"""The Postgres server the tests use: the one the environment gives, else an embedded one.

TEST_PG_HOST / TEST_PG_PORT / TEST_PG_USER name a server; by default the tests try
127.0.0.1:5432 as `postgres`, and start the embedded server (under `.data/`) when
nothing answers there. Tests create and drop only databases of their own.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parents[2]


def find_server() -> dict[str, str | int]:
    given = {
        "host": os.environ.get("TEST_PG_HOST", "127.0.0.1"),
        "port": int(os.environ.get("TEST_PG_PORT", "5432")),
        "user": os.environ.get("TEST_PG_USER", "postgres"),
    }
    try:
        with psycopg.connect(dbname="postgres", connect_timeout=3, **given):
            return given
    except psycopg.OperationalError:
        if "TEST_PG_HOST" in os.environ:
            raise
    from devtools import embedded_db

    url = embedded_db.start(ROOT / ".data" / "test-postgres")
    info = psycopg.conninfo.conninfo_to_dict(url)
    return {"host": info["host"], "port": int(info.get("port", 5432)), "user": info["user"]}


def url_for(*, host: str, port: int, user: str, dbname: str, password: str | None = None) -> str:
    return make_conninfo(
        "", host=host, port=port, user=user, dbname=dbname, password=password or None
    )
