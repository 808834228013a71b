"""Rows that cannot be half-filled: every query read into a row type returns all its
columns, named once by the type (`service.store.rows`), or the store does not start."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from pathlib import Path

import pytest

import service.store
from service.store import queries
from service.store.queries import MissingSQL, query
from service.store.rows import (
    ROW_TYPES,
    DMKind,
    DMStatus,
    MissingColumn,
    OutboundMessage,
    columns,
    from_row,
)

STORE = Path(service.store.__file__).parent
READ_INTO = re.compile(r"\bfrom_row\((\w+),")
TAKEN_FOR = re.compile(r'\bquery\(\s*"([a-z0-9_]+)",\s*returns=(\w+)\s*\)')


def dm_row(**changes) -> dict:
    now = dt.datetime.now(dt.UTC)
    row = {
        "id": uuid.uuid4(),
        "recipient_ig_id": "fan",
        "kind": "acknowledgement",
        "payload": {"text": "hi"},
        "status": "pending",
        "attempts": 0,
        "remote_message_id": None,
        "error": None,
        "message_id": "m-1",
        "retry_base": 0,
        "requeued_at": None,
        "sending_attempt_id": None,
        "sending_started_at": None,
        "created_at": now,
        "updated_at": now,
        "account_ig_id": "17841400000000001",
    }
    return row | changes


def test_a_row_without_a_column_its_type_needs_is_refused_with_the_columns_named():
    row = dm_row()
    del row["created_at"], row["retry_base"]
    with pytest.raises(MissingColumn) as raised:
        from_row(OutboundMessage, row)
    assert str(raised.value) == "the row lacks retry_base, created_at for OutboundMessage"


def test_a_dms_kind_and_status_are_enums_with_the_stored_values():
    dm = from_row(OutboundMessage, dm_row(status="sent", hold_seconds=0.0))
    assert (dm.kind, dm.status) == (DMKind.ACKNOWLEDGEMENT, DMStatus.SENT)
    assert dm.status == "sent" and isinstance(dm.status, DMStatus)


@pytest.mark.parametrize("cls", ROW_TYPES.values(), ids=lambda cls: cls.__name__)
def test_no_row_type_fills_a_field_by_default(cls):
    defaulted = [
        field.name
        for field in dataclasses.fields(cls)
        if field.default is not dataclasses.MISSING
        or field.default_factory is not dataclasses.MISSING
    ]
    assert defaulted == []


def test_a_placeholder_stands_for_the_columns_of_its_row_type():
    text = "UPDATE outbound_messages o SET status = 'sent' RETURNING {o.OutboundMessage};"
    listed = columns(OutboundMessage, "o")
    assert (
        queries.expand(text)
        == f"UPDATE outbound_messages o SET status = 'sent' RETURNING {listed};"
    )
    assert listed.startswith("o.id, o.recipient_ig_id, o.kind, ")
    with pytest.raises(ValueError, match="no row type 'Outbound'"):
        queries.expand("SELECT {Outbound} FROM outbound_messages")


def test_a_query_that_does_not_name_its_row_types_columns_fails_when_taken(monkeypatch):
    monkeypatch.setitem(
        queries.WRITTEN, "outbound_messages_get", "SELECT id FROM outbound_messages"
    )
    with pytest.raises(MissingSQL) as raised:
        query("outbound_messages_get", returns=OutboundMessage)
    assert str(raised.value) == (
        "query 'outbound_messages_get' does not name the columns of OutboundMessage"
    )


@pytest.mark.parametrize("path", sorted(STORE.glob("*.py")), ids=lambda path: path.name)
def test_every_row_type_the_store_reads_is_taken_with_its_queries(path):
    source = path.read_text(encoding="utf-8")
    assert set(READ_INTO.findall(source)) <= {cls for _, cls in TAKEN_FOR.findall(source)}


def test_every_query_naming_a_row_types_columns_is_taken_for_that_type():
    taken = {pair for path in STORE.glob("*.py") for pair in TAKEN_FOR.findall(path.read_text())}
    named = {
        (name, type_name)
        for name, text in queries.WRITTEN.items()
        for type_name in queries.row_types_named(text)
    }
    assert named == taken
