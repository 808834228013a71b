"""The functions of the schema, as the migrations make them, are the ones
`service/store/sql/functions.sql` holds: the same names, and each the same source."""

from __future__ import annotations

import re

from service.store.queries import SQL_DIR

FUNCTIONS = SQL_DIR / "functions.sql"
_CREATED = re.compile(r"^CREATE OR REPLACE FUNCTION (\w+)\(", re.MULTILINE)


def functions(db) -> dict[str, str]:
    """{signature: definition} of our functions in the schema (procrastinate's aside)."""
    rows = db.execute(
        "SELECT p.oid::regprocedure::text AS signature, pg_get_functiondef(p.oid) AS source"
        " FROM pg_proc p"
        " WHERE p.pronamespace = current_schema()::regnamespace"
        " AND p.proname NOT LIKE 'procrastinate\\_%'"
    ).fetchall()
    return {row["signature"]: row["source"] for row in rows}


def test_the_functions_file_names_every_function_the_migrations_make_with_its_version(db):
    named = _CREATED.findall(FUNCTIONS.read_text(encoding="utf-8"))
    migrated = [signature.split("(")[0] for signature in functions(db)]
    assert sorted(named) == sorted(migrated)
    assert [name for name in named if not re.fullmatch(r"\w+_v\d+", name)] == []


def test_the_functions_file_holds_the_source_the_migrations_make(db):
    migrated = functions(db)
    with db.transaction(force_rollback=True):
        db.execute(FUNCTIONS.read_text(encoding="utf-8"))
        assert functions(db) == migrated
