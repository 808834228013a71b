"""The benchmark harness keeps working: its smoke run measures every figure, on the tests'
Postgres server; its load tools count only a 202 as accepted; two runs never share a
database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench import pyload, wrk
from bench.errors import BenchError
from bench.load import LoadPlan
from bench.server import Server
from devtools.sandbox import Sandbox
from tests.support.pg import ROOT, url_for


@pytest.fixture
def server_url(request: pytest.FixtureRequest) -> str:
    option = request.config.option
    return url_for(
        host=option.postgresql_host,
        port=option.postgresql_port,
        user=option.postgresql_user,
        dbname="postgres",
    )


def test_the_smoke_run_measures_every_figure(server_url: str, tmp_path) -> None:
    out = tmp_path / "smoke.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--smoke",
            "--json-out",
            str(out),
            "--dbname",
            f"bench_smoke_test_{os.getpid()}",
        ],
        cwd=ROOT,
        env={**os.environ, "BENCH_DATABASE_URL": server_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    figures = report["figures"]
    assert len(figures) == 7
    assert [f["figure"] for f in figures if f["met"] is None] == []
    assert "| figure | measured |" in done.stdout
    assert report["results"]["end_to_end"]["service"]["jobs_or_messages"] == 200
    paced = report["results"]["send_pacing"]
    assert paced["answered_429"] == 0 and paced["delivered"] == paced["dms"] == 100


def _plan() -> LoadPlan:
    return LoadPlan(prefix="t", threads=1, connections=2, quota=6)


def test_the_python_loader_counts_an_answer_other_than_202_as_an_error() -> None:
    with Sandbox() as not_the_service:  # answers 404 to the ingest path
        result = pyload.run(not_the_service.url, "token", _plan())
    assert (result.requests, result.accepted, result.errors) == (6, 0, 6)


@pytest.mark.skipif(not wrk.available(), reason="wrk is not installed")
def test_wrk_counts_an_answer_other_than_202_as_an_error(tmp_path) -> None:
    with Sandbox() as not_the_service:
        result = wrk.run(not_the_service.url, "token", _plan(), tmp_path / "wrk.txt")
    assert (result.accepted, result.errors) == (0, 6)


def test_a_second_run_on_the_same_database_name_is_refused(server_url: str) -> None:
    server = Server(server_url, "the tests' server")
    name = f"bench_claim_test_{os.getpid()}"
    with server.claimed(name):
        with pytest.raises(BenchError, match="another benchmark run is using"):
            with server.claimed(name):
                pass
    with server.claimed(name):  # free again once the first run ended
        pass
