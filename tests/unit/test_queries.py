"""The named queries: each sits in the file of its table and is named for it, every query
the store takes exists, and no SQL runs outside the store."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import service.store
from service.store import queries
from service.store.migrate import load_migrations
from service.store.queries import MissingSQL, query

ROOT = Path(__file__).resolve().parents[2]
STORE = Path(service.store.__file__).parent
QUERY_FILES = queries.sql_files(queries.QUERIES_DIR)
TAKEN = re.compile(r'\bquery\(\s*"([a-z0-9_]+)"')


def store_sources() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in STORE.glob("*.py")}


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda path: path.name)
def test_every_query_is_named_for_the_file_it_sits_in(path):
    names = queries.parse(path.read_text(encoding="utf-8"))
    assert names
    table = path.name.removesuffix(".sql")
    assert [name for name in names if not name.startswith(f"{table}_")] == []


def test_every_store_module_imports_with_its_queries():
    for module in pkgutil.iter_modules(service.store.__path__):
        importlib.import_module(f"service.store.{module.name}")


def test_every_query_the_store_takes_exists_and_every_query_is_taken():
    taken = {name for source in store_sources().values() for name in TAKEN.findall(source)}
    assert sorted(taken - set(queries.QUERIES)) == []
    assert sorted(set(queries.QUERIES) - taken) == []


def test_a_missing_query_fails_with_one_line_naming_it():
    with pytest.raises(MissingSQL) as raised:
        query("messages_frobnicate")
    assert str(raised.value) == f"no query 'messages_frobnicate' in {queries.QUERIES_DIR}"


def test_missing_migrations_fail_with_one_line_naming_the_folder(tmp_path):
    with pytest.raises(MissingSQL) as raised:
        load_migrations(tmp_path)
    assert str(raised.value) == f"no migrations in {tmp_path}"


def test_only_the_store_runs_sql():
    outside = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("service", "workers", "ingest", "devtools")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if STORE not in path.parents
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\.(execute|executemany)\(", line)
    ]
    assert outside == []
