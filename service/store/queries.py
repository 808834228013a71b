"""The named SQL queries of `service/store/sql/queries/`, parsed once at import.

Each file holds blocks that start with a `-- name --` line and a one-line description
comment, the way procrastinate keeps its queries. A query is named for the file it sits
in, which is named for its table, then a verb (`messages_insert`), as riverqueue/river
names its own; `status.sql` holds the status report's queries, which read several tables
(`status_jobs`). Names are unique across files.

Store modules take their queries with `query(name)` when they are imported, so a name
missing from these files (or the files missing from the install) stops the process from
starting, with one line that names it.

A query whose rows are read into a row type of `service.store.rows` names that type's
columns with `{TypeName}` (`{alias.TypeName}` to qualify them), written nowhere else, and
is taken with `query(name, returns=TypeName)`: a query that does not name them stops the
start in the same way, so a row type is never half-filled at run time.

The files are package data, read through `importlib.resources`: an install that is a zip
file (or any other loader) finds them as a checkout does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

from psycopg.rows import DictRow

from service.core.db import Connection
from service.store.rows import ROW_TYPES, columns

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

SQL_DIR = resources.files("service.store") / "sql"
QUERIES_DIR = SQL_DIR / "queries"
_HEADER = re.compile(r"^-- ([a-z0-9_]+) --$", re.MULTILINE)
_COLUMNS = re.compile(r"\{(?:([a-z_][a-z0-9_]*)\.)?([A-Za-z0-9]+)\}")


class MissingSQL(LookupError):
    """A query or the migrations that the code needs are not among the files of `sql/`."""


def parse(text: str) -> dict[str, str]:
    """Split one file's text into {name: query}, as written (placeholders unexpanded)."""
    parts = _HEADER.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        queries[name] = body.strip()
    return queries


def row_types_named(text: str) -> set[str]:
    """The row types whose columns a query names with `{TypeName}`."""
    return {match[2] for match in _COLUMNS.finditer(text)}


def expand(text: str) -> str:
    """The query with each `{TypeName}` replaced by that row type's columns."""

    def listed(match: re.Match[str]) -> str:
        if match[2] not in ROW_TYPES:
            raise ValueError(f"no row type {match[2]!r} for {match[0]!r}")
        return columns(ROW_TYPES[match[2]], match[1])

    return _COLUMNS.sub(listed, text)


def sql_files(directory: Traversable) -> list[Traversable]:
    """The `.sql` files of `directory`, by name; none if it is missing."""
    if not directory.is_dir():
        return []
    found = (path for path in directory.iterdir() if path.name.endswith(".sql"))
    return sorted((path for path in found if path.is_file()), key=lambda path: path.name)


def load(directory: Traversable = QUERIES_DIR) -> dict[str, str]:
    """{name: query} of the files of `directory`, as written."""
    queries: dict[str, str] = {}
    for path in sql_files(directory):
        for name, body in parse(path.read_text(encoding="utf-8")).items():
            if name in queries:
                raise ValueError(f"query {name!r} is defined twice ({path.name})")
            queries[name] = body
    return queries


WRITTEN = load()
QUERIES = {name: expand(text) for name, text in WRITTEN.items()}


def query(name: str, *, returns: type[DataclassInstance] | None = None) -> str:
    """The query `name`; taken at import, so that a missing one, or one that does not
    name the columns of the row type it `returns`, fails the start."""
    try:
        text = QUERIES[name]
    except KeyError:
        raise MissingSQL(f"no query {name!r} in {QUERIES_DIR}") from None
    if returns is not None and returns.__name__ not in row_types_named(WRITTEN[name]):
        raise MissingSQL(f"query {name!r} does not name the columns of {returns.__name__}")
    return text


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


async def fetch_each(
    conn: Connection, sql: str, params: Sequence[Mapping[str, Any]]
) -> list[DictRow | None]:
    """Run `sql` once per parameter set, sent together in one pipeline (psycopg's
    `executemany`), and return the first row of each run (None for none), in order."""
    if not params:
        return []
    rows: list[DictRow | None] = []
    async with conn.cursor() as cur:
        await cur.executemany(sql, params, returning=True)
        while True:
            rows.append(await cur.fetchone())
            if not cur.nextset():
                break
    return rows
