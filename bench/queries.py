"""The benchmark's named SQL queries (`bench/sql/*.sql`), parsed once at import like the
service's own; `bench/sql/pgbench/` holds pgbench scripts, which pgbench reads itself."""

from __future__ import annotations

from pathlib import Path

from service.store.queries import load

SQL_DIR = Path(__file__).resolve().parent / "sql"
PGBENCH_INGEST = SQL_DIR / "pgbench" / "ingest_transaction.sql"
QUERIES = load(SQL_DIR)
