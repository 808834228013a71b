"""wrk, driven by `bench/ingest.lua`: a plan in, the line its done() prints out.

A quota run cannot end by itself (wrk waits out its -d duration whatever its threads do),
so once every thread has printed that it is done, wrk is interrupted, as Ctrl-C would,
and prints its results.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from bench.errors import BenchError
from bench.load import EVENT_TEMPLATE, LoadPlan, LoadResult
from bench.stack import INGEST_PATH

SCRIPT = Path(__file__).with_name("ingest.lua")
REQUEST_TIMEOUT = "10s"
QUOTA_SECONDS_PER_REQUEST = 0.01  # a quota run's deadline: generous, about 100 requests/s
INSTALL_HINT = "wrk is not installed: apt-get install wrk (Debian/Ubuntu), brew install wrk (macOS)"


def available() -> bool:
    return shutil.which("wrk") is not None


def run(base_url: str, token: str, plan: LoadPlan, output: Path) -> LoadResult:
    """Run the plan; wrk's whole output is kept in `output`."""
    quota_deadline = 60 + plan.quota * QUOTA_SECONDS_PER_REQUEST
    seconds = quota_deadline if plan.quota else plan.seconds
    argv = [
        "wrk",
        "-t",
        str(plan.threads),
        "-c",
        str(plan.connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        REQUEST_TIMEOUT,
        "--latency",
        "-s",
        str(SCRIPT),
        base_url + INGEST_PATH,
        "--",
        token,
        EVENT_TEMPLATE,
        plan.prefix,
        plan.sender_prefix,
        str(plan.threads),
        str(plan.rate),
        str(plan.quota),
        ",".join(plan.accounts),
    ]
    if plan.quota:
        text = _run_to_quota(argv, plan.threads, quota_deadline)
    else:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
        text = done.stdout + done.stderr
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    return _result(text, output)


def _run_to_quota(argv: list[str], threads: int, deadline_seconds: float) -> str:
    lines: list[str] = []
    all_done = threading.Event()

    def read(stream) -> None:
        finished = 0
        for line in stream:
            lines.append(line)
            finished += line.strip() == "BENCH thread-done"
            if finished == threads:
                all_done.set()

    deadline = time.monotonic() + deadline_seconds
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as wrk:
        reader = threading.Thread(target=read, args=(wrk.stdout,), daemon=True)
        reader.start()
        try:
            while not all_done.wait(0.5):
                if wrk.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(
                        f"wrk did not send its quota within {deadline_seconds:g}"
                        " s:\n" + "".join(lines)
                    )
            wrk.send_signal(signal.SIGINT)
            wrk.wait(timeout=30)
            reader.join(timeout=30)
            return "".join(lines)
        finally:
            if wrk.poll() is None:
                wrk.kill()


def _result(text: str, output: Path) -> LoadResult:
    line = next((line for line in text.splitlines() if line.startswith("BENCH {")), None)
    if line is None:
        raise BenchError(f"wrk printed no results; its output is in {output}:\n{text[-2000:]}")
    data = json.loads(line.removeprefix("BENCH "))
    return LoadResult(
        tool="wrk",
        seconds=data["duration_us"] / 1e6,
        requests=data["requests"],
        accepted=data["accepted"],
        errors=data["rejected"] + data["socket_errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )
