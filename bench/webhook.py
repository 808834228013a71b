"""Meta's side of the webhook: a delivery of messaging events in Meta's shape, signed with
the app secret the stack runs with, posted to the service's webhook endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import httpx

from bench.errors import BenchError
from bench.stack import APP_SECRET, SCOPED_ID, WEBHOOK_PATH
from service.webhooks.signatures import SIGNATURE_HEADER, signature


def delivery(messages: Sequence[tuple[str, str]]) -> bytes:
    """One entry (Instagram messaging, `messages` field) carrying a message for each
    (mid, sender) of `messages`, as Meta batches the events of one account."""
    now_ms = int(time.time() * 1000)
    return json.dumps(
        {
            "object": "instagram",
            "entry": [
                {
                    "id": SCOPED_ID,
                    "time": now_ms,
                    "messaging": [
                        {
                            "sender": {"id": sender},
                            "recipient": {"id": SCOPED_ID},
                            "timestamp": now_ms,
                            "message": {"mid": mid, "text": "Check this reel out!"},
                        }
                        for mid, sender in messages
                    ],
                }
            ],
        }
    ).encode()


def post(client: httpx.Client, body: bytes) -> None:
    """POST a signed delivery; BenchError unless the webhook answers 200 (a body over its
    limit, 413, makes the figure not measurable rather than failed)."""
    headers = {"content-type": "application/json", SIGNATURE_HEADER: signature(APP_SECRET, body)}
    response = client.post(WEBHOOK_PATH, content=body, headers=headers)
    if response.status_code == 413:
        raise BenchError(
            f"not measurable: the webhook refuses a body of {len(body):,} bytes as too large"
        )
    if response.status_code != 200:
        raise BenchError(f"the webhook answered {response.status_code}: {response.text[:500]}")
