"""Where the CPU went during a measurement, from /proc: the cores used by each kind of
process under test (by process group), by the Postgres server, by the load tools, by this
harness, and by everything else on the machine (on a shared machine, what disturbed the
figure). A process that ends within the measurement counts through its parent, which
collects its CPU time when it reaps it (Postgres backends through the postmaster, wrk
and pgbench through the harness). On systems without /proc nothing is measured.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

PROC = Path("/proc")
LOAD_TOOLS = ("wrk", "pgbench")


def sample(roles: dict[int, str]) -> Counter[str]:
    """CPU seconds so far by role: Postgres (every backend of the server, whoever its
    client) and the load tools are known by name, then `roles` maps process groups to
    roles (each process of those also counted alone, as `role:pid`, but for the leader of
    a group of several, a supervisor); the rest of the machine is `other`."""
    seconds: Counter[str] = Counter()
    hz = os.sysconf("SC_CLK_TCK")
    harness = os.getpid()
    members: Counter[int] = Counter()
    for stat in PROC.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        pid, comm = int(text.split(" ", 1)[0]), text[text.index("(") + 1 : text.rindex(")")]
        fields = [int(v) for v in text.rsplit(")", 1)[1].split()[2:15]]
        pgid, own, reaped = fields[0], fields[9] + fields[10], fields[11] + fields[12]
        if pid == harness:  # its reaped children are the load tools
            seconds["harness"] += own / hz
            seconds["load tool"] += reaped / hz
            continue
        role = (
            "load tool"
            if comm in LOAD_TOOLS
            else "postgres"
            if comm == "postgres"
            else roles.get(pgid, "other")
        )
        seconds[role] += (own + reaped) / hz
        if pgid in roles:
            members[pgid] += 1
            seconds[f"{role}:{pid}"] += (own + reaped) / hz
    for pgid, count in members.items():
        if count > 1:
            del seconds[f"{roles[pgid]}:{pgid}"]
    seconds["machine busy"] = _machine_busy(hz)
    return seconds


def _machine_busy(hz: int) -> float:
    """CPU seconds the whole machine spent busy (all cores, all processes, the kernel)."""
    fields = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:7]) - idle - iowait) / hz  # user .. softirq; not steal


class Meter:
    """`with Meter(roles) as m: ...`, then `m.cores`: cores used by role over the block,
    and `m.processes`: by each process of a role that has several, busiest first (one
    uvicorn process of two doing all the work shows there). `roles()` is asked at both
    ends, so processes started within the block count."""

    def __init__(self, roles: Callable[[], dict[int, str]]) -> None:
        self.roles = roles
        self.cores: dict[str, float] = {}
        self.processes: dict[str, list[float]] = {}
        self.seconds = 0.0  # the block's wall time

    def __enter__(self) -> Meter:
        self._before, self._started = self._sample(), time.monotonic()
        return self

    def __exit__(self, *exc_info: object) -> None:
        after, wall = self._sample(), time.monotonic() - self._started
        self.seconds = round(wall, 3)
        if after is None or self._before is None or wall <= 0:
            return
        used = after - self._before  # Counter subtraction drops what did not grow
        cores = {key: round(used[key] / wall, 2) for key in sorted(after)}
        self.cores = {key: value for key, value in cores.items() if ":" not in key}
        for key, value in cores.items():
            if ":" in key:
                self.processes.setdefault(key.split(":")[0], []).append(value)
        self.processes = {
            role: sorted(values, reverse=True)
            for role, values in self.processes.items()
            if len(values) > 1
        }

    def _sample(self) -> Counter[str] | None:
        return sample(self.roles()) if (PROC / "stat").exists() else None
