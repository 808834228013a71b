"""docs/configuration.md says each setting once, in a table, with the code's default: the
settings are those of `service.core.settings.Settings`, read from the code itself."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import msgspec
import pytest

from service.core.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
HEADER = "| setting | default | meaning |"
# Read by the tests, CI, the benchmark or uvicorn (FORWARDED_ALLOW_IPS), not by the service.
NOT_THE_SERVICES = {
    "TEST_PG_HOST",
    "TEST_PG_PORT",
    "TEST_PG_USER",
    "CI",
    "BENCH_DATABASE_URL",
    "FORWARDED_ALLOW_IPS",
}
# How the default column says that a setting has none.
NO_DEFAULT = ("—", "unset")


def table_rows() -> list[list[str]]:
    """Every row of the page's tables (below their headers), each a list of cells."""
    return [
        [cell.strip() for cell in line.strip("|").split(" | ")]
        for line in DOC.read_text().splitlines()
        if line.startswith("|") and line != HEADER and not line.startswith("| ---")
    ]


def rows() -> dict[str, list[list[str]]]:
    """The rows of every setting named in a first column, by name."""
    by_name: dict[str, list[list[str]]] = {}
    for row in table_rows():
        for name in re.findall(r"`([A-Z0-9_]+)`", row[0]):
            by_name.setdefault(name, []).append(row)
    return by_name


SETTINGS = {field.name.upper(): field for field in dataclasses.fields(Settings)}


def test_every_row_follows_its_tables_header_with_three_cells():
    """Nothing (a list, a paragraph) breaks a table: each row follows a header or a row."""
    previous = ""
    for number, line in enumerate(DOC.read_text().splitlines(), 1):
        if line.startswith("| ---"):
            assert previous == HEADER, f"line {number}: a separator without its header"
        elif line.startswith("|") and line != HEADER:
            assert previous.startswith("|"), f"line {number}: a table row outside a table"
        previous = line
    assert all(len(row) == 3 for row in table_rows())


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_every_setting_the_code_reads_appears_exactly_once(name):
    assert len(rows().get(name, [])) == 1, name


def test_every_setting_the_page_names_is_read_by_the_code():
    assert set(rows()) - NOT_THE_SERVICES == set(SETTINGS)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_the_default_the_page_gives_is_the_codes(name):
    field = SETTINGS[name]
    [row] = rows()[name]
    default = row[1]
    if field.default in (dataclasses.MISSING, None, ""):
        assert default in NO_DEFAULT, (name, default)
        return
    written = re.match(r"`([^`]*)`", default)
    assert written, (name, default)
    kind = typing.get_type_hints(Settings)[field.name]
    assert msgspec.convert(written[1], kind, strict=False) == field.default, (name, default)
