"""The service as separate processes on an owned cluster, with traffic that retries like
Meta and internal callers do, and the figures the fault tests report."""

from __future__ import annotations

import collections
import threading
import time

import httpx
import psycopg
from psycopg.rows import dict_row

from devtools.sandbox import Sandbox
from tests.faults.cluster import OwnedCluster, query
from tests.support import seed
from tests.support.processes import ServiceProcess, start_web, start_worker, wait_until
from tests.support.stack import SCRAPE, SERVICE_TOKEN, make_env

# The service token for the internal API and the schema, the metrics token for /metrics.
HEADERS = {"x-service-token": SERVICE_TOKEN, **SCRAPE}
# Crash rescue and retries scaled down, so that a fault resolves in seconds.
FAST = {
    "WORKER_HEARTBEAT_SECONDS": "1",
    "WORKER_STALLED_SECONDS": "4",
    "WORKER_RESCUE_INTERVAL_SECONDS": "1",
    "WORKER_POLL_SECONDS": "0.2",
    "WORKER_SHUTDOWN_SECONDS": "10",
    "GRAPH_TIMEOUT_SECONDS": "1",
    "DB_POOL_TIMEOUT_SECONDS": "2",
}


class FaultStack:
    def __init__(self, cluster: OwnedCluster, sandbox: Sandbox, **env: str) -> None:
        self.cluster = cluster
        self.sandbox = sandbox
        self.url = cluster.create_database()
        self.env = make_env(database_url=self.url, graph_url=sandbox.url, **{**FAST, **env})
        self.processes: list[ServiceProcess] = []
        self.web_url = ""

    def start_web(self) -> ServiceProcess:
        web, self.web_url = start_web(self.env)
        self.processes.append(web)
        return web

    def db(self) -> psycopg.Connection:
        """An autocommit connection to the stack's database, rows as dicts, for setting up
        rows (`tests/support/seed.py`); close it, or use it in a `with`."""
        return _connect(self.url)

    def start_worker(self) -> ServiceProcess:
        with self.db() as db:
            worker = start_worker(self.env, db)
        self.processes.append(worker)
        return worker

    def close(self) -> None:
        for process in self.processes:
            process.close()
        self.cluster.drop_database(self.url)

    def rows(self, sql: str, *params) -> list[dict]:
        return query(self.url, sql, *params)

    def post_event(self, mid: str, sender: str, *, deadline: float = 60) -> int:
        """POST one event until it is accepted (202), retrying on 503 and refused
        connections as callers do; returns the number of 503s seen."""
        body = {
            "mid": mid,
            "sender_ig_id": sender,
            "recipient_ig_id": "17841400000000001",
            # Now: a later send-dm to the sender must find its messaging window open.
            "timestamp": str(int(time.time())),
            "message_text": "hi",
        }
        unavailable, give_up = 0, time.monotonic() + deadline
        while time.monotonic() < give_up:
            try:
                response = httpx.post(
                    f"{self.web_url}/api/internal/ingest-event",
                    json=body,
                    headers={"x-service-token": SERVICE_TOKEN},
                    timeout=15,
                )
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            if response.status_code == 202:
                return unavailable
            assert response.status_code == 503, response.text
            assert response.json()["detail"] == "database unavailable, retry later"
            unavailable += 1
            time.sleep(0.1)
        raise AssertionError(f"event {mid} not accepted within {deadline}s")

    def from_connected_senders(self, prefix: str, count: int) -> list[str]:
        """`count` connected senders (`{prefix}-user-N`) each post one message
        (`{prefix}-N`); returns the mids."""
        mids = [f"{prefix}-{n}" for n in range(count)]
        with self.db() as db:
            for n in range(count):
                seed.a_connected_sender(db, f"{prefix}-user-{n}")
        for n, mid in enumerate(mids):
            self.post_event(mid, f"{prefix}-user-{n}")
        return mids

    def wait_all_done(self, mids: list[str], timeout: float = 90) -> None:
        """Every event processed and every DM it owes settled (none pending)."""

        def done() -> bool:
            [row] = self.rows(
                "SELECT count(*) FILTER (WHERE m.decided_at IS NULL) AS unhandled,"
                " count(*) FILTER (WHERE o.status IS DISTINCT FROM 'sent') AS unsent"
                " FROM messages m LEFT JOIN outbound_messages o ON o.message_id = m.id"
                " WHERE m.id = ANY(%s)",
                mids,
            )
            return row["unhandled"] == 0 and row["unsent"] == 0

        wait_until(done, timeout=timeout, what=f"{len(mids)} events processed and answered")

    def lost(self, mids: list[str]) -> int:
        """Accepted events without a processed message or without their sent DM."""
        rows = self.rows(
            "SELECT m.id FROM messages m JOIN outbound_messages o"
            " ON o.message_id = m.id AND o.status = 'sent'"
            " WHERE m.id = ANY(%s) AND m.decided_at IS NOT NULL",
            mids,
        )
        return len(mids) - len(rows)

    def duplicates(self) -> int:
        """DMs the sandbox received beyond one per recipient (each sender is messaged once)."""
        counts = collections.Counter(m.recipient_id for m in self.sandbox.messages())
        return sum(n - 1 for n in counts.values())

    def in_flight(self, worker: ServiceProcess | None = None) -> int:
        """Sends marked in flight (by `worker`'s jobs only, if given)."""
        return self.rows(
            "SELECT count(*) AS n FROM outbound_messages o WHERE sending_attempt_id IS NOT NULL"
            " AND (%s::bigint[] IS NULL OR EXISTS (SELECT 1 FROM procrastinate_jobs j"
            "  WHERE (j.args ->> 'outbound_id' = o.id::text OR j.args ->> 'mid' = o.message_id)"
            "  AND j.status = 'doing'"
            "  AND j.worker_id = ANY (%s)))",
            *[worker.worker_ids if worker else None] * 2,
        )[0]["n"]


class Traffic:
    """Events posted one after another from a thread, until stopped."""

    def __init__(self, stack: FaultStack, prefix: str) -> None:
        self.stack, self.prefix = stack, prefix
        self.accepted: list[str] = []
        self.unavailable = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"traffic-{prefix}")
        self.error: BaseException | None = None

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=120)
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        n = 0
        try:
            while not self._stop.is_set():
                mid = f"{self.prefix}-{n}"
                self.unavailable += self.stack.post_event(mid, f"{self.prefix}-user-{n}")
                self.accepted.append(mid)
                n += 1
        except BaseException as exc:  # re-raised in the test's thread
            self.error = exc


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True, row_factory=dict_row)
