"""What reading one webhook delivery yields as it goes, and the context each item is read in."""

from __future__ import annotations

from typing import NamedTuple

from service.messages.inbound import Source
from service.webhooks.events import InboundEdit, InboundMessage, OtherEvent, ParsedDelivery

MAX_WARNINGS = 100


class Collector:
    """What one delivery yields so far; duplicates and the warning cap are handled here."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self.edits: list[InboundEdit] = []
        self.other_events: list[OtherEvent] = []
        self.warnings: list[str] = []
        # Events refused, each with where and why: all kept, since each is a message lost.
        self.refused: list[str] = []
        self.suppressed = 0
        # An unsend may arrive in the same batch as the message it removes, so a deletion
        # is not a duplicate of the message.
        self.seen: set[tuple[str, bool]] = set()
        self.items = 0

    def warn(self, warning: str) -> None:
        # A hostile or broken delivery could make one warning per item; keep the log line small.
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(warning)
        else:
            self.suppressed += 1

    def refuse(self, refusal: str) -> None:
        self.refused.append(refusal)

    def result(self) -> ParsedDelivery:
        warnings = list(self.warnings)
        if self.suppressed:
            warnings.append(f"{self.suppressed} more warnings suppressed")
        return ParsedDelivery(
            messages=tuple(self.messages),
            other_events=tuple(self.other_events),
            warnings=tuple(warnings),
            edits=tuple(self.edits),
            refused=tuple(self.refused),
        )


class Entry(NamedTuple):
    account_id: str | None  # our account: a message from it is an echo
    time_ms: int | None  # when Meta sent the entry: the fallback for an item's timestamp
    source: Source = "messaging"  # the list the item came in


class Header(NamedTuple):
    sender: str | None
    recipient: str | None
    timestamp_ms: int | None
