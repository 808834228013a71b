"""The benchmark's connection to its database: one autocommit connection that runs the
named queries of `bench/sql/`."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from bench.queries import QUERIES


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self._conn = psycopg.connect(url, autocommit=True, row_factory=dict_row)

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._conn.close()

    def one(self, name: str, **params: Any) -> dict[str, Any]:
        """The first row of query `name`; it must return one."""
        row = self._conn.execute(QUERIES[name], params).fetchone()
        assert row is not None, f"query {name} returned no row"
        return row

    def all(self, name: str, **params: Any) -> list[dict[str, Any]]:
        return self._conn.execute(QUERIES[name], params).fetchall()

    def run(self, name: str, **params: Any) -> None:
        self._conn.execute(QUERIES[name], params)

    def reset(self) -> None:
        self.run("reset_tables")
