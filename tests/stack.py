"""Running the service for a test: the app behind Litestar's test client, a real worker
process, and helpers that wait on conditions with deadlines."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from service.http.app import create_app
from service.sandbox import Sandbox
from service.settings import Settings
from tests.processes import start_worker, wait_until

SERVICE_TOKEN = "test-service-token-0123456789"
ACCESS_TOKEN = "test-access-token-0123456789"
SCOPED_ID = "17841400000000001"


def make_env(*, database_url: str, graph_url: str, **extra: str) -> dict[str, str]:
    env = {
        "DATABASE_URL": database_url,
        "INTERNAL_SERVICE_TOKEN": SERVICE_TOKEN,
        "INSTAGRAM_ACCESS_TOKEN": ACCESS_TOKEN,
        "INSTAGRAM_SCOPED_ID": SCOPED_ID,
        "INSTAGRAM_API_BASE_URL": graph_url,
        # The spec's 1 s / 2 s / 4 s schedule, scaled down so tests stay quick.
        "SEND_BACKOFF_BASE_SECONDS": "0.05",
        "SEND_BACKOFF_CAP_SECONDS": "0.5",
        "WORKER_CONCURRENCY": "4",
        "LOG_FORMAT": "json",
    }
    env.update(extra)
    return env


class Stack:
    def __init__(self, env: dict[str, str], sandbox: Sandbox, db, *, worker: bool = True) -> None:
        self.env = env
        self.settings = Settings.from_mapping(env)
        self.sandbox = sandbox
        self.db = db
        self.client = TestClient(create_app(self.settings), raise_server_exceptions=False)
        self.with_worker = worker
        self.worker = None

    def __enter__(self) -> Stack:
        self.client.__enter__()
        if self.with_worker:
            self.worker = start_worker(self.env, self.db)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.worker:
            self.worker.terminate()
            self.worker.close()
        self.client.__exit__(*exc_info)

    def post(self, path: str, body: Any, *, token: str | None = SERVICE_TOKEN):
        headers = {} if token is None else {"x-service-token": token}
        return self.client.post(path, json=body, headers=headers)

    def ingest(self, **fields: Any):
        body = {"mid": "mid-1", "sender_ig_id": "user-1", "recipient_ig_id": SCOPED_ID,
                "timestamp": "1734123456", "message_text": "Hello"}
        body.update(fields)
        return self.post("/api/internal/ingest-event", body)

    def rows(self, query: str, *params: Any) -> list[dict]:
        return self.db.execute(query, params).fetchall()

    def wait_handled(self, mid: str) -> None:
        wait_until(lambda: self.rows("SELECT 1 FROM messages WHERE id = %s AND handled_at IS NOT NULL", mid),
                   what=f"message {mid} to be processed")

    def outbound_settled(self, count: int) -> list[dict]:
        """Wait until `count` outbound rows exist and none is pending; returns them."""
        def settled():
            rows = self.rows("SELECT * FROM outbound_messages ORDER BY created_at")
            return rows if len(rows) >= count and all(r["status"] != "pending" for r in rows) else None
        try:
            return wait_until(settled, what=f"{count} settled outbound DMs")
        except AssertionError:
            if self.worker:
                print(self.worker.output())
            raise
