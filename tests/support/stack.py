"""Running the service for a test: the app behind Litestar's test client, a real worker
process, optionally the app as a real HTTP server for the webhook job to forward to, and
helpers that wait on conditions with deadlines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from litestar.testing import TestClient

from devtools.sandbox import Sandbox
from service.core.settings import DEFAULT_VERIFY_URL_BASE, Settings
from service.http.app import create_app
from service.webhooks.signatures import SIGNATURE_HEADER, signature
from tests.support.live_server import LiveServer
from tests.support.pg import ROOT
from tests.support.processes import start_worker, wait_until

SERVICE_TOKEN = "test-service-token-0123456789abcdef"  # production wants 32+
ACCESS_TOKEN = "test-access-token-0123456789"
SCOPED_ID = "17841400000000001"
APP_SECRET = "test-app-secret-0123456789"
VERIFY_TOKEN = "test-verify-token-0123456789"
METRICS_TOKEN = "test-metrics-token-0123456789abcdef"
# A Fernet key for tests only (production refuses none but the dev key; this is no secret).
TOKEN_KEY = "dGVzdC1vbmx5LXRva2VuLWVuY3J5cHRpb24ta2V5LTA="
SCRAPE = {"authorization": f"Bearer {METRICS_TOKEN}"}
WEBHOOK = "/api/webhooks/instagram"
T = TypeVar("T")


def make_env(*, database_url: str, graph_url: str, **extra: str) -> dict[str, str]:
    env = {
        "DATABASE_URL": database_url,
        "INTERNAL_SERVICE_TOKEN": SERVICE_TOKEN,
        "INSTAGRAM_ACCESS_TOKEN": ACCESS_TOKEN,
        "INSTAGRAM_SCOPED_ID": SCOPED_ID,
        "INSTAGRAM_API_BASE_URL": graph_url,
        "INSTAGRAM_APP_SECRET": APP_SECRET,
        "INSTAGRAM_WEBHOOK_VERIFICATION_TOKEN": VERIFY_TOKEN,
        # The spec's link, which the flows' DMs are checked against; production needs it set.
        "VERIFY_URL_BASE": DEFAULT_VERIFY_URL_BASE,
        # Nothing listens there: a test whose deliveries must arrive runs a live server.
        "INTERNAL_INGEST_URL": "http://127.0.0.1:9/api/internal/ingest-event",
        "METRICS_TOKEN": METRICS_TOKEN,
        "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
        # A token stored or refreshed by one process reaches the others within this long,
        # and a send held by a refused token looks again as often.
        "TOKEN_CACHE_SECONDS": "0.2",
        "TOKEN_HOLD_RECHECK_SECONDS": "0.2",
        # Each scrape reads the status gauges afresh, unless a test says otherwise.
        "METRICS_CACHE_SECONDS": "0",
        # The production 1 s / 2 s / 4 s schedule, scaled down so tests stay quick.
        "SEND_BACKOFF_BASE_SECONDS": "0.05",
        "SEND_BACKOFF_CAP_SECONDS": "0.5",
        "FORWARD_BACKOFF_BASE_SECONDS": "0.05",
        "FORWARD_BACKOFF_CAP_SECONDS": "0.5",
        # No scheduled reconciliation: a test that wants one runs it, or its trigger.
        "RECONCILE_INTERVAL_SECONDS": "0",
        "WORKER_CONCURRENCY": "4",
        "WORKER_POLL_SECONDS": "0.05",
        "LOG_FORMAT": "json",
    }
    env.update(extra)
    return env


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 60, stdin: str = ""
) -> subprocess.CompletedProcess:
    """Run `ingest ARGS` as a process against this environment, `stdin` piped in; its
    output as text."""
    return subprocess.run(
        [sys.executable, "-m", "ingest.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Stack:
    def __init__(
        self,
        env: dict[str, str],
        sandbox: Sandbox,
        db,
        *,
        worker: bool = True,
        live_server: bool = False,
    ) -> None:
        self.live_server = LiveServer() if live_server else None
        if self.live_server:
            env = {
                **env,
                "INTERNAL_INGEST_URL": f"{self.live_server.url}/api/internal/ingest-event",
            }
        self.env = env
        self.settings = Settings.from_mapping(env)
        self.sandbox = sandbox
        self.db = db
        self.client = TestClient(create_app(self.settings), raise_server_exceptions=False)
        self.with_worker = worker
        self.worker = None

    def __enter__(self) -> Stack:
        self.client.__enter__()
        if self.live_server:
            self.live_server.start(create_app(self.settings), wait_until=wait_until)
        if self.with_worker:
            self.worker = start_worker(self.env, self.db)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.worker:
            self.worker.terminate()
            self.worker.close()
        if self.live_server:
            self.live_server.stop()
        self.client.__exit__(*exc_info)

    def post(self, path: str, body: Any, *, token: str | None = SERVICE_TOKEN):
        headers = {} if token is None else {"x-service-token": token}
        return self.client.post(path, json=body, headers=headers)

    def ingest(self, **fields: Any):
        body = {
            "mid": "mid-1",
            "sender_ig_id": "user-1",
            "recipient_ig_id": SCOPED_ID,
            "timestamp": "1734123456",
            "message_text": "Hello",
        }
        body.update(fields)
        return self.post("/api/internal/ingest-event", body)

    def deliver(
        self, payload: Any, *, secret: str | None = APP_SECRET, signature_header: str | None = None
    ):
        """POST a webhook delivery as Meta does: escaped-unicode JSON, signed with `secret`."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"content-type": "application/json"}
        if signature_header is None and secret is not None:
            signature_header = signature(secret, body)
        if signature_header is not None:
            headers[SIGNATURE_HEADER] = signature_header
        return self.client.post(WEBHOOK, content=body, headers=headers)

    def delivery_settled(self, delivery_id: int) -> dict:
        """Wait until the delivery's forwarding finished (or failed); returns its row."""

        def settled():
            rows = self.rows(
                "SELECT * FROM webhook_deliveries WHERE id = %s AND status <> 'received'",
                delivery_id,
            )
            return rows[0] if rows else None

        return self.wait(settled, what=f"delivery {delivery_id} to be forwarded")

    def rows(self, query: str, *params: Any) -> list[dict]:
        return self.db.execute(query, params).fetchall()

    def wait_decided(self, mid: str) -> None:
        wait_until(
            lambda: self.rows(
                "SELECT 1 FROM messages WHERE id = %s AND decided_at IS NOT NULL", mid
            ),
            what=f"message {mid} to be decided",
        )

    def outbound_settled(self, count: int) -> list[dict]:
        """Wait until `count` outbound rows exist and none is pending; returns them."""

        def settled():
            rows = self.rows("SELECT * FROM outbound_messages ORDER BY created_at")
            return (
                rows if len(rows) >= count and all(r["status"] != "pending" for r in rows) else None
            )

        return self.wait(settled, what=f"{count} settled outbound DMs")

    def wait(self, predicate: Callable[[], T], *, what: str) -> T:
        """`wait_until`, showing the worker's output when it times out."""
        try:
            return wait_until(predicate, what=what)
        except AssertionError:
            if self.worker:
                print(self.worker.output())
            raise
