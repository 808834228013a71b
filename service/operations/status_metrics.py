"""The status report as Prometheus gauges, read by each scrape of web's GET /metrics.

They come from the database, so they tell the truth about the whole service whichever
process (web or a worker, on any machine) did the work: queue depth and age, jobs and
DMs by state, the Phase 3 backlog, and the checks of `ingest status`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from service.core import jobs


class StatusCollector(Collector):
    """Gauges of the latest status report; none but `ingest_status_up 0` without one."""

    def __init__(self) -> None:
        self.report: dict[str, Any] | None = None

    def describe(self) -> list:
        return []  # the families depend on the report; nothing to check at registration

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        report = self.report
        yield GaugeMetricFamily(
            "ingest_status_up",
            "1 when the status queries answered.",
            value=0 if report is None else 1,
        )
        if report is None:
            return
        yield from _job_gauges(report["jobs"])
        yield _gauge(
            "ingest_dms_in_window",
            "DMs created within the status window (1 h), by kind and current status.",
            ["kind", "status"],
            {(r["kind"], r["status"]): r["dms"] for r in report["outbound"]},
        )
        reads = report["verification_reads"]
        yield GaugeMetricFamily(
            "ingest_verification_dms_sent",
            "Verification DMs sent within the status window (1 h).",
            value=reads["sent"],
        )
        yield GaugeMetricFamily(
            "ingest_verification_dms_read_within_hour",
            "Of those, the DMs their recipient read within an hour of their sending.",
            value=reads["read_within_hour"],
        )
        yield _gauge(
            "ingest_phase3_backlog",
            "Phase 3 rows not done, by status.",
            ["status"],
            {(r["status"],): r["items"] for r in report["phase3"]},
        )
        yield _gauge(
            "ingest_webhook_deliveries",
            "Webhook deliveries not forwarded, by status (received or failed).",
            ["status"],
            {(r["status"],): r["deliveries"] for r in report["deliveries"]},
        )
        yield _gauge(
            "ingest_check_ok",
            "1 when the status check passes.",
            ["check"],
            {(c["name"],): int(c["ok"]) for c in report["checks"]},
        )
        yield _gauge(
            "ingest_check_value",
            "The value each status check compares to its limit (counts, or ages in seconds).",
            ["check"],
            {(c["name"],): c["value"] for c in report["checks"]},
        )
        recovered = CounterMetricFamily(
            "ingest_reconciled_messages",
            "Messages recovered from the Conversations API by reconciliation, by account.",
            labels=["account"],
        )
        for row in report["reconcile_runs"]:
            recovered.add_metric([row["account_id"]], row["recovered_total"])
        yield recovered
        yield GaugeMetricFamily(
            "ingest_healthy", "1 when every status check passes.", value=int(report["healthy"])
        )
        yield from _account_gauges(report)


def _account_gauges(report: dict[str, Any]) -> Iterator[GaugeMetricFamily]:
    """Each account's token, holds and subscription, by its id."""
    tokens = report["access_tokens"]
    yield _gauge(
        "ingest_access_token_refused",
        "1 when the Graph API refused the account's stored token (code 190): its sends are held.",
        ["account"],
        {(r["scoped_id"],): int(r["invalid_at"] is not None) for r in tokens},
    )
    yield _gauge(
        "ingest_access_token_expires_in_seconds",
        "Seconds until the account's stored token expires.",
        ["account"],
        {(r["scoped_id"],): r["expires_in_seconds"] for r in tokens},
    )
    yield _gauge(
        "ingest_rate_limit_hold_seconds",
        "Seconds a Graph API rate limit still holds the account's sends (held accounts only).",
        ["account"],
        {(r["scoped_id"],): r["seconds"] for r in report["rate_limit_holds"]},
    )
    yield _gauge(
        "ingest_account_subscribed",
        "1 when the last read of the account's webhook subscription found `messages`.",
        ["account"],
        {(r["scoped_id"],): int(r["subscribed"]) for r in report["webhook_subscriptions"]},
    )


def _job_gauges(rows: list[dict[str, Any]]) -> Iterator[GaugeMetricFamily]:
    yield _gauge(
        "ingest_jobs",
        "Jobs by queue, task and status.",
        ["queue", "task", "status"],
        {(r["queue"], r["task"], r["status"]): r["jobs"] for r in rows},
    )
    depth = dict.fromkeys(jobs.QUEUES, 0)
    oldest = dict.fromkeys(jobs.QUEUES, 0)
    for row in rows:
        if row["status"] == "todo":
            depth[row["queue"]] = depth.get(row["queue"], 0) + row["jobs"]
            oldest[row["queue"]] = max(oldest.get(row["queue"], 0), row["oldest_todo_seconds"] or 0)
    yield _gauge(
        "ingest_queue_depth",
        "Jobs waiting (todo), by queue.",
        ["queue"],
        {(queue,): n for queue, n in depth.items()},
    )
    yield _gauge(
        "ingest_queue_oldest_seconds",
        "How long the oldest runnable job of each queue has waited.",
        ["queue"],
        {(queue,): s for queue, s in oldest.items()},
    )


def _gauge(
    name: str, documentation: str, labels: list[str], values: dict[tuple[str, ...], float]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in values.items():
        family.add_metric(list(label_values), value)
    return family


STATUS = StatusCollector()
REGISTRY.register(STATUS)
