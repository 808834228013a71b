"""What the figures were measured on: cores, CPU model, memory, Postgres, the load tools."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess

from bench.server import Server


def describe(server: Server, *, tool: str, pgbench: str | None) -> dict[str, str]:
    return {
        "cores (nproc)": str(len(os.sched_getaffinity(0))),
        "cpu": _cpu_model(),
        "memory": _memory(),
        "os": f"{platform.system()} {platform.release()}",
        "load average at start (1, 5, 15 min)": ", ".join(f"{n:.2f}" for n in os.getloadavg()),
        "python": platform.python_version(),
        **server.about(),
        "load tool": _first_line(["wrk", "--version"])
        if tool == "wrk"
        else "Python loader (wrk is not installed)",
        "pgbench": _first_line([pgbench, "--version"]) if pgbench else "not found",
    }


def _cpu_model() -> str:
    if shutil.which("lscpu"):
        found = re.search(r"^Model name:\s*(.+)$", _output(["lscpu"]), re.MULTILINE)
        if found:
            return found[1].strip()
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
    except (OSError, ValueError, IndexError):
        return "unknown"
    return f"{kib / 1024**2:.0f} GiB"


def _first_line(argv: list[str]) -> str:
    lines = _output(argv).strip().splitlines()
    return lines[0] if lines else "unknown"


def _output(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except OSError:
        return ""
    return done.stdout + done.stderr
