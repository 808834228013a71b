"""The web port is public (Meta must reach the webhook): what anyone who reaches it can do
must not hurt the service. Against the app as a real HTTP server, with a real worker."""

from __future__ import annotations

import asyncio
import json

from service.webhooks.signatures import SIGNATURE_HEADER, signature
from tests.support.meta_payloads import delivery, entry, message_item
from tests.support.stack import APP_SECRET, SCRAPE, SERVICE_TOKEN, WEBHOOK, Stack

FLOOD = 500
EVENTS = 25
INGEST = "/api/internal/ingest-event"


async def request(
    url: str, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b""
) -> int:
    """One request on a connection of its own, as a flood's client sends it; its status.

    Plain sockets, not httpx: with hundreds of requests in flight, httpx's connection pool
    takes more CPU than the server does, and here both run in one process.
    """
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}", "connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append(f"content-length: {len(body)}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=60)
    writer.close()
    await writer.wait_closed()
    return int(answer.split(b" ", 2)[1])


def signed_delivery(mid: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(delivery(entry(message_item(mid, text="hi")))).encode()
    return body, {"content-type": "application/json", SIGNATURE_HEADER: signature(APP_SECRET, body)}


def ingest_event(mid: str) -> bytes:
    event = {
        "mid": mid,
        "sender_ig_id": f"sender-{mid}",
        "recipient_ig_id": "17841400000000001",
        "timestamp": "1734123456",
        "message_text": "hi",
    }
    return json.dumps(event).encode()


def test_a_flood_of_unauthenticated_scrapes_while_events_flow_answers_no_5xx(env, sandbox, db):
    env = {**env, "METRICS_CACHE_SECONDS": "10"}
    webhook_mids = [f"mid.hook.{n}" for n in range(EVENTS)]
    event_mids = [f"mid.event.{n}" for n in range(EVENTS)]
    internal = {"content-type": "application/json", "x-service-token": SERVICE_TOKEN}

    async def traffic(url: str) -> dict[str, list[int]]:
        requests = {
            "flood": [request(url, "GET", "/metrics") for _ in range(FLOOD)],
            "scrapes": [request(url, "GET", "/metrics", headers=SCRAPE) for _ in range(EVENTS)],
            "webhooks": [
                request(url, "POST", WEBHOOK, headers=headers, body=body)
                for body, headers in map(signed_delivery, webhook_mids)
            ],
            "events": [
                request(url, "POST", INGEST, headers=internal, body=ingest_event(mid))
                for mid in event_mids
            ],
        }
        # All at once, the flood first so that the others arrive in the middle of it.
        answers = await asyncio.gather(*(r for group in requests.values() for r in group))
        grouped, start = {}, 0
        for name, group in requests.items():
            grouped[name] = answers[start : start + len(group)]
            start += len(group)
        return grouped

    with Stack(env, sandbox, db, live_server=True) as stack:
        statuses = asyncio.run(traffic(stack.live_server.url))

        assert statuses["flood"] == [401] * FLOOD
        assert statuses["scrapes"] == [200] * EVENTS
        assert statuses["webhooks"] == [200] * EVENTS
        assert statuses["events"] == [202] * EVENTS
        for mid in webhook_mids + event_mids:
            stack.wait_decided(mid)
