"""Safe on Supabase: PostgREST exposes the schema to `anon` and `authenticated`, and Supabase's
default privileges grant them every new table, sequence and function there. After `ingest
migrate` neither role can read, write or execute anything of the service's or procrastinate's,
while the service, connected as the role that owns them (not a superuser), works as before.

The two roles are cluster-wide: created when missing and never dropped (other runs may be
using them); everything else is this test's own database and owner role.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.rows import dict_row

from service.store.migrate import migrate
from tests.support.queue import database_of_its_own, run_one_job

EXPOSED = ("anon", "authenticated")
OWNER = f"ingest_owner_{os.getpid()}"

CREATE_EXPOSED_ROLES = """
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another run created it meanwhile
            END;
        END IF;
    END LOOP;
END;
$$
"""

# What Supabase sets up for the role that creates the project's objects (`postgres`).
SUPABASE_DEFAULTS = """
GRANT USAGE ON SCHEMA public TO anon, authenticated;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated;
"""


@pytest.fixture
def supabase_like(db, database_url: str) -> Iterator[str]:
    """A database owned by a plain login role, with Supabase's roles and default privileges,
    not yet migrated; yields its URL (as the owner)."""
    db.execute(CREATE_EXPOSED_ROLES)
    db.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(OWNER)))
    try:
        with database_of_its_own(db, database_url, "supabase", owner=OWNER) as url:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(SUPABASE_DEFAULTS)
            yield url
    finally:
        db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(OWNER)))


def superuser_url(url: str, superuser: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    return psycopg.conninfo.make_conninfo("", **{**info, "user": superuser})


def catalog(conn: psycopg.Connection) -> dict[str, list]:
    """Everything in `public`: in this database, all of it is the service's or
    procrastinate's."""
    rows = conn.execute(
        "SELECT c.oid::regclass::text AS name, c.relkind FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')"
        " ORDER BY 1"
    ).fetchall()
    functions = conn.execute(
        "SELECT p.oid::regprocedure::text AS signature, p.proname, p.prokind,"
        " p.prorettype = 'trigger'::regtype AS trigger,"
        " coalesce(p.proargtypes::regtype[]::text[], '{}') AS args"
        " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'public' ORDER BY 1"
    ).fetchall()
    types = conn.execute(
        "SELECT t.oid::regtype::text AS name FROM pg_type t"
        " JOIN pg_namespace n ON n.oid = t.typnamespace"
        " LEFT JOIN pg_class c ON c.oid = t.typrelid"
        " WHERE n.nspname = 'public' AND (t.typtype IN ('e', 'd') OR c.relkind = 'c')"
        " ORDER BY 1"
    ).fetchall()
    return {
        "tables": [r["name"] for r in rows if r["relkind"] != "S"],
        "sequences": [r["name"] for r in rows if r["relkind"] == "S"],
        "functions": functions,
        "types": [t["name"] for t in types],
    }


def refused(conn: psycopg.Connection, statement: str) -> bool:
    """Whether `statement` fails for want of privileges (anything else is re-raised)."""
    try:
        with conn.transaction():
            conn.execute(statement)
    except errors.InsufficientPrivilege:
        return True
    return False


def call(function: dict) -> str:
    nulls = ", ".join(f"NULL::{arg}" for arg in function["args"])
    verb = "CALL" if function["prokind"] == "p" else "SELECT"
    return f"{verb} {function['proname']}({nulls})"


def test_anon_and_authenticated_reach_nothing_after_migrate(supabase_like, db):
    migrate(supabase_like)
    url = superuser_url(supabase_like, db.info.user)
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        found = catalog(conn)
        assert {"procrastinate_jobs", "schema_migrations", "messages"} <= set(found["tables"])
        assert "procrastinate_defer_jobs_v1" in {f["proname"] for f in found["functions"]}
        assert found["sequences"] and found["types"]
        unprotected = conn.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND relkind IN ('r', 'p') AND NOT relrowsecurity"
        ).fetchall()
        assert unprotected == []
        for role in EXPOSED:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
            allowed = []
            for table in found["tables"]:
                for statement in (
                    f"SELECT * FROM {table} LIMIT 1",
                    f"INSERT INTO {table} DEFAULT VALUES",
                    f"DELETE FROM {table}",
                ):
                    if not refused(conn, statement):
                        allowed.append(statement)
            for sequence in found["sequences"]:
                if not refused(conn, f"SELECT nextval('{sequence}')"):
                    allowed.append(f"nextval {sequence}")
            for function in found["functions"]:
                if not function["trigger"] and not refused(conn, call(function)):
                    allowed.append(function["signature"])
            conn.execute("RESET ROLE")
            for function in found["functions"]:
                row = conn.execute(
                    "SELECT has_function_privilege(%s, %s, 'EXECUTE') AS may",
                    (role, function["signature"]),
                ).fetchone()
                if row["may"]:
                    allowed.append(f"EXECUTE {function['signature']}")
            for name in found["types"]:
                row = conn.execute(
                    "SELECT has_type_privilege(%s, %s, 'USAGE') AS may", (role, name)
                ).fetchone()
                if row["may"]:
                    allowed.append(f"USAGE {name}")
            assert allowed == [], role


def test_the_owner_still_migrates_and_runs_jobs(supabase_like):
    migrate(supabase_like)
    assert migrate(supabase_like) == []
    assert run_one_job(supabase_like) == [42]
