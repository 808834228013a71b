"""The benchmark harness keeps working: its smoke run measures every figure (issue 14's
too), on the tests' Postgres server; its load tools count only a 202 as accepted; two runs
never share a database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench import pyload, wrk
from bench.errors import BenchError
from bench.idle_latency import STAGES
from bench.load import LoadPlan
from bench.options import FIGURES
from bench.server import Server
from devtools.sandbox import Sandbox
from tests.support.pg import ROOT, url_for


def _server_url(config: pytest.Config) -> str:
    option = config.option
    return url_for(
        host=option.postgresql_host,
        port=option.postgresql_port,
        user=option.postgresql_user,
        dbname="postgres",
    )


@pytest.fixture
def server_url(request: pytest.FixtureRequest) -> str:
    return _server_url(request.config)


@pytest.fixture(scope="module")
def smoke_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess, dict]:
    """One smoke run for the module's tests: its process, and the JSON it wrote."""
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
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
        env={**os.environ, "BENCH_DATABASE_URL": _server_url(request.config)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done, json.loads(out.read_text())


@pytest.fixture
def smoke(smoke_run: tuple[subprocess.CompletedProcess, dict]) -> dict:
    return smoke_run[1]


def test_the_smoke_run_measures_every_figure(
    smoke_run: tuple[subprocess.CompletedProcess, dict],
) -> None:
    done, report = smoke_run
    figures = report["figures"]
    assert [f["name"] for f in figures] == list(FIGURES)
    assert [f["figure"] for f in figures if f["met"] is None] == []
    assert "| figure | measured |" in done.stdout
    assert report["results"]["end_to_end"]["service"]["jobs_or_messages"] == 200
    paced = report["results"]["send_pacing"]
    assert paced["answered_429"] == 0 and paced["delivered"] == paced["dms"] == 100
    reconciled = report["results"]["reconcile"]
    assert reconciled["recovered"] == reconciled["conversations"] == 20
    assert reconciled["calls"] == 1 + 20 + 20 and reconciled["refused"] == 0


def test_the_smoke_run_serves_accounts_at_their_pace(smoke: dict) -> None:
    """Figure 11 at its small sizes: one account, then two, each sent 60 messages over 3 s;
    every DM reaches the stand-in from its own account and none is answered 429."""
    result, rows = smoke["results"]["accounts_at_pace"], {f["name"]: f for f in smoke["figures"]}
    first = result["steps"][0]
    assert (first["accounts"], first["messages"]) == (1, 60)
    assert [step["accounts"] for step in result["steps"]] == [1, 2][: len(result["steps"])]
    for step in result["steps"]:
        assert step["answered_429"] == 0
        assert len(step["ratio_by_account"]) == step["accounts"]
    assert rows["accounts_at_pace"]["measured"].startswith(f"{result['served']} accounts")


def test_the_smoke_run_measures_the_figures_of_issue_14(smoke: dict) -> None:
    results, rows = smoke["results"], {f["name"]: f for f in smoke["figures"]}
    half = results["ingest_rate"]["service"]["accepted_per_second"] / 2
    assert results["ingest_latency_half"]["target_rate"] == pytest.approx(half)
    assert results["ingest_latency_half_big"]["target_rate"] == pytest.approx(half)
    delivery = results["meta_delivery"]
    assert delivery["events"] == 100 and delivery["pgbench"]["transactions"] == 100
    assert 0 < delivery["stored_after_s"] <= delivery["seconds"]
    rss = results["end_to_end"]["service"]["rss_mb"]
    assert results["warmup"]["web_rss_mb"].keys() == rss["web_after_ingest"].keys() != set()
    assert rss["workers_after_first"].keys() == rss["workers_after_drain"].keys() != set()
    assert " MB" in rows["rss"]["measured"]
    e2e = results["end_to_end"]
    assert all(seconds > 0 for seconds in e2e["service"]["cpu_seconds"].values())
    assert all(seconds > 0 for seconds in e2e["noop"]["cpu_seconds"].values())
    assert "ms" in rows["cpu_per_message"]["measured"]
    assert all(stage in rows["idle_latency"]["measured"] for stage in STAGES)


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
