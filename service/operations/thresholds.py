"""What the status report looks at and when it calls the service unhealthy.

The same names are `ingest status` flags (`--max-job-wait 10m`) and query parameters of
GET /api/internal/status (`?max_job_wait=10m`), so a check means the same in both.
Durations are seconds, or a number with s, m, h or d, up to a year.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Mapping
from typing import Any

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Longer than any history worth a report (jobs are kept 7 days by default), and far inside
# what a Postgres interval holds.
MAX_DURATION_SECONDS = 365 * 86400


def parse_duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as 90s, 15m, 2h or 7d")
    seconds = float(match[1]) * _UNIT_SECONDS[match[2]]
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"{text!r} is longer than 365 days")
    return seconds


def duration_argument(text: str) -> float:
    """`parse_duration` for argparse, which then prints the reason with the usage."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _option(default: float, help_text: str) -> Any:
    return dataclasses.field(default=default, metadata={"help": help_text})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Thresholds:
    window: float = _option(3600.0, "DMs by kind and status, and failed DMs, over this long")
    unhandled_after: float = _option(300.0, "unhealthy if a message waits longer to be decided")
    stalled_after: float = _option(30.0, "a running job whose worker is silent longer is stalled")
    max_job_wait: float = _option(300.0, "unhealthy if a runnable job has waited longer")
    max_phase3_age: float = _option(3600.0, "unhealthy if a Phase 3 row not done is older")
    max_failed_dms: int = _option(10, "unhealthy if more DMs than this failed within the window")
    max_delivery_wait: float = _option(
        600.0, "unhealthy if a webhook delivery has waited longer to be forwarded"
    )
    max_failed_deliveries: int = _option(
        0, "unhealthy if more webhook deliveries than this failed within the window"
    )
    max_senderless_edits: int = _option(
        0, "unhealthy if more edits than this arrived without a sender within the window"
    )
    max_reconcile_gaps: int = _option(
        0, "unhealthy if reconciliation found more messages lost for good within the window"
    )
    jobless_after: float = _option(
        300.0, "unhealthy if a pending DM has had no job to send it for longer"
    )
    failed_limit: int = _option(20, "how many of the latest failed DMs to list")

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> Thresholds:
        """Build from flags or query parameters; absent ones keep their defaults."""
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = options.get(field.name)
            if raw is None:
                continue
            try:
                values[field.name] = (
                    int(str(raw)) if field.type == "int" else parse_duration(str(raw))
                )
            except ValueError as exc:
                raise ValueError(f"{field.name}: {exc}") from None
        return cls(**values)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        for field in dataclasses.fields(cls):
            is_count = field.type == "int"
            parser.add_argument(
                f"--{field.name.replace('_', '-')}",
                dest=field.name,
                type=int if is_count else duration_argument,
                metavar="N" if is_count else "DURATION",
                help=f"{field.metadata['help']} (default {field.default:g}"
                f"{'' if is_count else ' s'})",
            )
