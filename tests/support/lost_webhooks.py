"""Messages that reach Instagram: recorded in the sandbox's conversations as Meta keeps
them, and then delivered as a signed webhook, or lost (never delivered)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.support.meta_payloads import ACCOUNT, delivery, entry, message_item


def lose(
    stack, mid: str, sender: str, text: str = "hello", *, minutes_ago: float = 0
) -> dict[str, Any]:
    """A message Instagram kept and whose webhook Meta never delivered."""
    created = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    return stack.sandbox.conversations.record(
        ACCOUNT, sender, ACCOUNT, text, mid=mid, created_time=created
    )


def deliver(stack, mid: str, sender: str, text: str = "hello") -> dict[str, Any]:
    """A message kept and delivered, its delivery forwarded; the delivery's row."""
    message = lose(stack, mid, sender, text)
    return deliver_late(stack, message)


def deliver_late(stack, message: dict[str, Any]) -> dict[str, Any]:
    """The webhook of a message recorded before; the delivery's row once forwarded."""
    created = dt.datetime.strptime(message["created_time"], "%Y-%m-%dT%H:%M:%S%z")
    payload = delivery(
        entry(
            message_item(
                message["id"],
                text=message["message"],
                sender=message["from"]["id"],
                timestamp=int(created.timestamp() * 1000),
            )
        )
    )
    response = stack.deliver(payload)
    assert response.status_code == 200, response.text
    return stack.delivery_settled(response.json()["delivery_id"])
