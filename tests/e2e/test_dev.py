"""`ingest dev`, as `make run` runs it: stopped, it stops the embedded Postgres it started;
its verification link opens a page it serves (and `ingest web` does not) that connects.

Each test runs it in a folder of its own, where its `.data/postgres` and `.data/dev.env`
land (both are relative to the working directory), with no DATABASE_URL and no access
token, so it starts the embedded Postgres and the sandbox.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from service.dms import texts
from tests.support.processes import free_port, start_web, wait_until

START_TIMEOUT = 120  # initdb, then the migrations, on a loaded machine
STOP_TIMEOUT = 60


class Dev:
    """One `ingest dev` process in `folder`, its output in a file there."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.log = folder / "dev.log"
        self.process: subprocess.Popen | None = None

    @property
    def pid_file(self) -> Path:
        return self.folder / ".data" / "postgres" / "postmaster.pid"

    def start(self) -> int:
        """Start it and wait until it is ready; returns the embedded Postgres's pid."""
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in ("DATABASE_URL", "INSTAGRAM_ACCESS_TOKEN")
        }
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ingest.cli", "dev"],
                cwd=self.folder,
                env={**env, "PORT": str(self.port), "LOG_FORMAT": "json"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self.ready, timeout=START_TIMEOUT, what="ingest dev to answer")
        return int(self.pid_file.read_text().split()[0])

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(
                f"ingest dev exited with {self.process.returncode}:\n{self.output()}"
            )
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)
        self.process.wait(timeout=STOP_TIMEOUT)

    def output(self) -> str:
        return self.log.read_text()

    def sandbox_url(self) -> str:
        """The Graph API sandbox it started, from its start-up warning."""
        for line in self.output().splitlines():
            if line.startswith("{") and "see_dms" in (logged := json.loads(line)):
                return logged["sandbox"]
        raise AssertionError(f"no sandbox in the output:\n{self.output()}")

    def database_url(self) -> str:
        lines = (self.folder / ".data" / "dev.env").read_text().splitlines()
        return next(line.removeprefix("DATABASE_URL=") for line in lines if "DATABASE_URL=" in line)


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def postgres_gone(dev: Dev, postmaster: int) -> bool:
    return not dev.pid_file.exists() and not running(postmaster)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    started = Dev(tmp_path)
    yield started
    # Whatever the test left running, so that a failure leaks no processes.
    if started.process is not None and started.process.poll() is None:
        started.process.kill()
        started.process.wait(timeout=STOP_TIMEOUT)
    if started.pid_file.exists():
        postmaster = int(started.pid_file.read_text().split()[0])
        if running(postmaster):
            os.kill(postmaster, signal.SIGQUIT)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_dev_stops_the_postgres_it_started(dev: Dev, sig: signal.Signals) -> None:
    # What an earlier run leaves: the dev file names its database, stopped since.
    (dev.folder / ".data").mkdir()
    (dev.folder / ".data" / "dev.env").write_text(
        f"DATABASE_URL=postgresql://postgres@/postgres?host={dev.folder / 'gone'}\n"
    )
    postmaster = dev.start()
    assert running(postmaster)

    dev.stop(sig)

    wait_until(
        lambda: postgres_gone(dev, postmaster), timeout=STOP_TIMEOUT, what="Postgres to stop"
    )
    assert "Traceback" not in dev.output()


def test_a_postgres_left_by_a_killed_run_is_reused_then_stopped(dev: Dev) -> None:
    postmaster = dev.start()
    dev.stop(signal.SIGKILL)  # no shutdown code runs: Postgres is left running
    assert running(postmaster) and dev.pid_file.exists()

    assert dev.start() == postmaster
    dev.stop(signal.SIGINT)

    wait_until(
        lambda: postgres_gone(dev, postmaster), timeout=STOP_TIMEOUT, what="Postgres to stop"
    )


def test_dev_prints_the_console_the_sandbox_and_a_password_that_signs_in(dev: Dev) -> None:
    dev.start()
    found = wait_until(
        lambda: re.search(r"Sign in with any name and the password (\S+)", dev.output()),
        what="the console's password to be printed",
    )
    password = found[1]
    assert f"Operator console: http://127.0.0.1:{dev.port}/console" in dev.output()
    # On a line of its own, not only inside the long warning of the log.
    printed = [line.strip() for line in dev.output().splitlines() if not line.startswith("{")]
    sandbox = dev.sandbox_url()
    assert f"DMs (Graph API sandbox, not sent to Instagram): {sandbox}/_sandbox/messages" in (
        printed
    )
    # Printed for the operator, never in a log line.
    assert not [
        line for line in dev.output().splitlines() if line.startswith("{") and password in line
    ]
    with httpx.Client(base_url=f"http://127.0.0.1:{dev.port}", timeout=10) as client:
        form = client.get("/console/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)[1]
        overview = client.post(
            "/console/login",
            data={"_csrf_token": token, "operator": "dev", "password": password},
            follow_redirects=True,
        )
    assert overview.status_code == 200 and "Checks" in overview.text
    dev.stop(signal.SIGINT)


def test_the_verification_link_connects_through_the_page_dev_serves(dev: Dev) -> None:
    dev.start()
    web, sandbox = f"http://127.0.0.1:{dev.port}", dev.sandbox_url()

    def message(mid: str) -> None:
        response = httpx.post(
            f"{web}/api/internal/ingest-event",
            headers={"x-service-token": "your_service_token"},
            json={
                "mid": mid,
                "sender_ig_id": "new_user_789",
                "recipient_ig_id": "your_page_id",
                "timestamp": str(int(time.time())),
                "message_text": "a reel",
            },
        )
        assert response.status_code == 202, response.text

    def dms(count: int) -> list[dict]:
        return wait_until(
            lambda: (
                (sent := httpx.get(f"{sandbox}/_sandbox/messages").json())
                and (sent if len(sent) >= count else None)
            ),
            timeout=30,
            what=f"{count} DMs in the sandbox",
        )

    message("m-before")
    [verification] = dms(1)
    link = re.search(r"http://\S+", verification["text"])
    assert link and link[0].startswith(f"{web}/dev/verify?token=")

    def username() -> str | None:
        with psycopg.connect(dev.database_url()) as conn:
            row = conn.execute("SELECT username FROM instagram_profiles").fetchone()
        return row and row[0]

    # The sender's profile, which the sandbox makes up, is fetched after the first DM.
    named = wait_until(username, timeout=30, what="the sender's profile")
    page = httpx.get(link[0])

    assert page.status_code == 200, page.text
    assert "new_user_789" in page.text and "1 earlier message saved" in page.text
    assert f"Connect @{named} to Reeva" in page.text
    message("m-after")
    acknowledgement = dms(2)[1]
    assert acknowledgement["text"] == texts.ACKNOWLEDGEMENT
    with psycopg.connect(dev.database_url()) as conn:
        queued = conn.execute("SELECT message_id FROM phase3_queue ORDER BY id").fetchall()
    assert queued == [("m-before",), ("m-after",)]
    assert httpx.get(link[0]).status_code == 200  # opened again: the same answer
    dev.stop(signal.SIGINT)


def test_ingest_web_does_not_serve_the_dev_page(env: dict[str, str]) -> None:
    web, url = start_web(env)
    try:
        response = httpx.get(f"{url}/dev/verify", params={"token": "ab" * 32, "ig_id": "user-1"})
        assert response.status_code == 404
    finally:
        web.close()


def test_the_servers_lifecycle_is_logged_once(dev: Dev) -> None:
    # The Graph API sandbox is a server of its own in the same process, whose start and stop
    # were logged as if they were web's.
    dev.start()
    dev.stop(signal.SIGINT)
    events = [
        json.loads(line).get("event") for line in dev.output().splitlines() if line.startswith("{")
    ]
    for lifecycle in ("Started server process", "Shutting down", "Finished server process"):
        assert sum(1 for event in events if event.startswith(lifecycle)) == 1, lifecycle
