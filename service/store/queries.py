"""The named SQL queries of `service/store/sql/queries/`, parsed once at import.

Each file holds blocks that start with a `-- name --` line and a one-line description
comment, the way procrastinate keeps its queries. A query is named for the file it sits
in, which is named for its table, then a verb (`messages_insert`), as riverqueue/river
names its own; `status.sql` holds the status report's queries, which read several tables
(`status_jobs`). Names are unique across files.

Store modules take their queries with `query(name)` when they are imported, so a name
missing from these files (or the files missing from the install) stops the process from
starting, with one line that names it.

The files are package data, read through `importlib.resources`: an install that is a zip
file (or any other loader) finds them as a checkout does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from psycopg.rows import DictRow

from service.core.db import Connection

SQL_DIR = resources.files("service.store") / "sql"
QUERIES_DIR = SQL_DIR / "queries"
_HEADER = re.compile(r"^-- ([a-z0-9_]+) --$", re.MULTILINE)


class MissingSQL(LookupError):
    """A query or the migrations that the code needs are not among the files of `sql/`."""


def parse(text: str) -> dict[str, str]:
    """Split one file's text into {name: query}."""
    parts = _HEADER.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        queries[name] = body.strip()
    return queries


def sql_files(directory: Traversable) -> list[Traversable]:
    """The `.sql` files of `directory`, by name; none if it is missing."""
    if not directory.is_dir():
        return []
    found = (path for path in directory.iterdir() if path.name.endswith(".sql"))
    return sorted((path for path in found if path.is_file()), key=lambda path: path.name)


def load(directory: Traversable = QUERIES_DIR) -> dict[str, str]:
    queries: dict[str, str] = {}
    for path in sql_files(directory):
        for name, body in parse(path.read_text(encoding="utf-8")).items():
            if name in queries:
                raise ValueError(f"query {name!r} is defined twice ({path.name})")
            queries[name] = body
    return queries


QUERIES = load()


def query(name: str) -> str:
    """The query `name`; taken at import, so that a missing one fails the start."""
    try:
        return QUERIES[name]
    except KeyError:
        raise MissingSQL(f"no query {name!r} in {QUERIES_DIR}") from None


async def fetch_one(conn: Connection, sql: str, params: Mapping[str, Any]) -> DictRow | None:
    cur = await conn.execute(sql, params)
    return await cur.fetchone()


async def fetch_row(conn: Connection, sql: str, params: Mapping[str, Any]) -> DictRow:
    """The row of a statement that always returns one (an upsert, a count, an update of a
    row the transaction holds locked)."""
    row = await fetch_one(conn, sql, params)
    if row is None:
        raise LookupError(f"the statement returned no row: {sql.strip()[:80]!r}")
    return row
