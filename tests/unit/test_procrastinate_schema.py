"""Which of procrastinate's migration files a recorded version needs (the files as the
installed procrastinate ships them)."""

from __future__ import annotations

import pytest

from service.store import procrastinate_schema
from service.store.procrastinate_schema import INSTALLED, NewerThanInstalled, files_after


def test_versions_parse_without_their_suffixes():
    assert procrastinate_schema.parse_version("3.10.0") == (3, 10, 0)
    assert procrastinate_schema.parse_version("3.10.1.dev4") == (3, 10, 1)
    with pytest.raises(ValueError):
        procrastinate_schema.parse_version("three")


def test_the_files_after_a_version_come_in_order_up_to_the_installed_one():
    files = files_after((3, 0, 0))
    names = [file.name for file in files]
    assert names == sorted(names)
    assert names[0] == "03.01.00_01_pre_add_heartbeat"
    assert "03.01.00_50_post_add_heartbeat" in names
    assert all((3, 0, 0) < file.version <= INSTALLED for file in files)
    assert all(file.sql.strip() for file in files)


def test_a_current_schema_needs_no_file():
    assert files_after(INSTALLED) == []
    assert files_after(procrastinate_schema.UNVERSIONED) == []  # none between 3.8 and 3.10


def test_a_newer_schema_than_the_installed_procrastinate_is_refused():
    newer = (INSTALLED[0], INSTALLED[1] + 1, 0)
    with pytest.raises(NewerThanInstalled, match="newer than the installed procrastinate"):
        files_after(newer)


def test_pending_names_what_migrate_would_apply():
    assert procrastinate_schema.pending("3.0.0")[0] == "procrastinate 03.01.00_01_pre_add_heartbeat"
    assert procrastinate_schema.pending(procrastinate_schema.INSTALLED_VERSION) == ()
    assert procrastinate_schema.pending(None) == ()  # taken as 3.8
    assert procrastinate_schema.pending("99.0.0") == ()  # migrating cannot help
