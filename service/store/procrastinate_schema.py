"""Which of procrastinate's own migration files a database needs.

procrastinate ships its schema (`schema.sql`, for a new database) and, for each release that
changed it, versioned migration files (`procrastinate/sql/migrations/`, named
`{xx.yy.zz}_{ab}_{pre|post}_{what}.sql`): a file named for version X brings the schema of the
version before it to X's. `ingest migrate` records the procrastinate version whose schema it
applied, and on upgrade applies the files after that version, up to the installed one, in
name order.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from importlib import resources
from importlib.resources.abc import Traversable

from procrastinate import __version__ as installed_version

from service.core.errors import ServiceError

Version = tuple[int, int, int]

MIGRATIONS_DIR = resources.files("procrastinate.sql") / "migrations"
# A `procrastinate` row without a version was recorded before versions were, by code that
# applied the schema of procrastinate 3.8 or later (what it required) and never a file since.
UNVERSIONED: Version = (3, 8, 0)
_FILE = re.compile(r"^((\d{2})\.(\d{2})\.(\d{2})_\d{2}_\w+)\.sql$")
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")


class NewerThanInstalled(ServiceError):
    """The database's procrastinate schema is of a newer procrastinate than the installed one."""


@dataclasses.dataclass(frozen=True)
class File:
    name: str  # without `.sql`, e.g. 03.01.00_01_pre_add_heartbeat
    version: Version
    sql: str


def parse_version(text: str) -> Version:
    """`3.10.0` (or `3.10.0.dev1`, `3.10.0rc1`) as (3, 10, 0)."""
    match = _VERSION.match(text)
    if match is None:
        raise ValueError(f"not a procrastinate version: {text!r}")
    return int(match[1]), int(match[2]), int(match[3])


INSTALLED = parse_version(installed_version)
INSTALLED_VERSION = installed_version  # as schema_migrations records it


def files_after(recorded: Version, directory: Traversable = MIGRATIONS_DIR) -> list[File]:
    """The files a schema of procrastinate `recorded` needs to be the installed one's."""
    if recorded > INSTALLED:
        shown = ".".join(map(str, recorded))
        raise NewerThanInstalled(
            f"the database's procrastinate schema is {shown}'s, newer than the installed "
            f"procrastinate {installed_version}: install procrastinate {shown} or later"
        )
    found = []
    for path in sorted(directory.iterdir(), key=lambda path: path.name):
        match = _FILE.match(path.name)
        if match is None:
            continue
        version = (int(match[2]), int(match[3]), int(match[4]))
        if recorded < version <= INSTALLED:
            found.append(File(match[1], version, path.read_text(encoding="utf-8")))
    return found


@functools.lru_cache(maxsize=8)
def pending(recorded: str | None) -> tuple[str, ...]:
    """What `ingest migrate` would apply to a schema recorded as `recorded` (readiness asks on
    every probe, hence the cache); nothing for a newer one, which migrating cannot help."""
    since = parse_version(recorded) if recorded else UNVERSIONED
    if since > INSTALLED:
        return ()
    return tuple(f"procrastinate {file.name}" for file in files_after(since))
