"""Start-up as processes: production stops at once on a development default, with one line
and exit code 2; `ingest dev` listens on loopback only, whatever HOST says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.pg import ROOT
from tests.support.processes import ServiceProcess, free_port
from tests.support.stack import make_env

# Nothing listens there: the checks come before any connection.
NO_DATABASE = "postgresql://reeva@127.0.0.1:1/reeva"


def ingest(command: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ingest.cli", command],
        cwd=cwd,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("command", ["web", "worker"])
def test_a_placeholder_secret_stops_the_process_with_one_line(command, tmp_path):
    env = make_env(
        database_url=NO_DATABASE,
        graph_url="https://graph.instagram.com/v24.0",
        INTERNAL_SERVICE_TOKEN="your_service_token",
    )
    result = ingest(command, env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"ingest {command}: setting INTERNAL_SERVICE_TOKEN is a placeholder from .env.example: "
        "set the real secret"
    ]


def test_an_unset_verify_url_base_stops_web_with_one_line(tmp_path):
    env = make_env(database_url=NO_DATABASE, graph_url="https://graph.instagram.com/v24.0")
    del env["VERIFY_URL_BASE"]
    result = ingest("web", env, tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("ingest web: missing required setting VERIFY_URL_BASE")


@pytest.mark.parametrize("command", ["web", "worker"])
def test_every_missing_or_bad_setting_is_reported_in_one_start_one_line_each(command, tmp_path):
    env = make_env(
        database_url=NO_DATABASE,
        graph_url="https://graph.instagram.com/v24.0",
        INTERNAL_SERVICE_TOKEN="your_service_token",
        INSTAGRAM_SCOPED_ID="your_scoped_id",
        TOKEN_ENCRYPTION_KEY="not-a-key",
        PORT="80a",
    )
    del env["VERIFY_URL_BASE"], env["INTERNAL_INGEST_URL"]
    result = ingest(command, env, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    named = ["INTERNAL_SERVICE_TOKEN", "INSTAGRAM_SCOPED_ID", "TOKEN_ENCRYPTION_KEY", "PORT"]
    named += ["VERIFY_URL_BASE"] + (["INTERNAL_INGEST_URL"] if command == "worker" else [])
    assert len(lines) == len(named), lines
    assert all(line.startswith(f"ingest {command}: ") for line in lines), lines
    for name in named:
        assert sum(f" {name}" in line for line in lines) == 1, (name, lines)


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a TCP socket listening on `port` (Linux: /proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_ingest_dev_listens_on_loopback_even_when_host_says_otherwise(database_url, tmp_path):
    port = free_port()
    dev = ServiceProcess(
        "dev",
        {"DATABASE_URL": database_url, "HOST": "0.0.0.0", "PORT": str(port), "LOG_FORMAT": "json"},
        cwd=tmp_path,
    )

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        dev.start(healthy)
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and nothing else
    finally:
        dev.terminate()
        dev.close()


MALFORMED_DATABASE_URLS = {
    "an unclosed IPv6 host": "postgresql://reeva:s3cretpw@[::1/reeva",
    "a bad escape in the password": "postgresql://reeva:s3cret%zzpw@db.internal/reeva",
    "a word without a value": "host=db.internal password=s3cretpw dbname",
    "a port that is not a number": "postgresql://reeva:s3cretpw@db.internal:five/reeva",
}


def assert_one_line_without_the_password(result: subprocess.CompletedProcess, command: str):
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"ingest {command}: setting DATABASE_URL is malformed"), line
    assert "s3cret" not in result.stderr + result.stdout


@pytest.mark.parametrize("url", MALFORMED_DATABASE_URLS.values(), ids=MALFORMED_DATABASE_URLS)
def test_a_malformed_database_url_stops_migrate_with_one_line_and_no_password(url, tmp_path):
    assert_one_line_without_the_password(
        ingest("migrate", {"DATABASE_URL": url}, tmp_path), "migrate"
    )


@pytest.mark.parametrize("command", ["web", "worker", "status", "dev"])
def test_every_command_stops_on_a_malformed_database_url(command, tmp_path):
    env = make_env(
        database_url=MALFORMED_DATABASE_URLS["an unclosed IPv6 host"],
        graph_url="https://graph.instagram.com/v24.0",
    )
    assert_one_line_without_the_password(ingest(command, env, tmp_path), command)


@pytest.mark.parametrize("command", ["web", "worker"])
def test_an_unreachable_database_stops_the_process_with_one_line(command, tmp_path):
    env = make_env(
        database_url="postgresql://reeva:s3cretpw@127.0.0.1:1/reeva",
        graph_url="https://graph.instagram.com/v24.0",
    )
    result = ingest(command, env, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "s3cretpw" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"ingest {command}: database unreachable: ")
