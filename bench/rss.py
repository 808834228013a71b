"""Resident memory of the processes under test, from /proc/<pid>/status (VmRSS): whether
a long run leaves a process bigger than its warm-up did, as a leak or an unbounded cache
would. Empty on systems without /proc."""

from __future__ import annotations

from pathlib import Path

PROC = Path("/proc")


def resident_mb(roles: dict[int, str], role: str) -> dict[str, float]:
    """MB resident in each process (by pid) of the process groups of `role`."""
    groups = {pgid for pgid, name in roles.items() if name == role}
    found: dict[str, float] = {}
    for stat in PROC.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            pgid = int(text.rsplit(")", 1)[1].split()[2])
            if pgid not in groups:
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
        kb = next(
            (line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")), None
        )
        if kb is not None:
            found[stat.parent.name] = round(int(kb) / 1024, 1)
    return dict(sorted(found.items(), key=lambda item: int(item[0])))
