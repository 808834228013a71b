"""HTTP load on the ingest endpoint: what to send (a plan), what came back (a result), and
the two tools that send it: wrk (`bench/ingest.lua`), and a small Python loader for smoke
runs on machines without wrk.

Every request posts one ingest event with a unique mid, `<prefix>.<thread>.<n>`, from the
sender `<sender_prefix><thread>-<n>`: the n-th request of load thread `thread` (1-based),
to the account `accounts[thread - 1]` (cycling through them when there are more threads).
The end-to-end figure connects exactly those senders before it sends.
"""

from __future__ import annotations

import dataclasses
import json

from bench.stack import SCOPED_ID

# An event as the webhook forwarder posts it: a message with a reel, Reeva's usual case.
# MID and SENDER are replaced per request, ACCOUNT per load thread (plain string
# replacement, in Lua as in Python).
EVENT_TEMPLATE = json.dumps(
    {
        "mid": "MID",
        "sender_ig_id": "SENDER",
        "recipient_ig_id": "ACCOUNT",
        "timestamp": "1734123456",
        "message_text": "Check this reel out!",
        "attachments": [
            {
                "type": "ig_reel",
                "payload": {
                    "reel_video_id": "18087782618022081",
                    "url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1",
                },
            }
        ],
    },
    separators=(",", ":"),
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LoadPlan:
    prefix: str  # makes this run's mids unique
    threads: int
    connections: int
    seconds: float = 0.0  # how long to send (when no quota)
    rate: float = 0.0  # requests per second in all, paced; 0: as fast as answers come
    quota: int = 0  # send exactly this many (a multiple of `threads`), then stop
    sender_prefix: str = "bench-sender-"
    accounts: tuple[str, ...] = (SCOPED_ID,)  # the account each load thread writes to

    def __post_init__(self) -> None:
        if self.quota % self.threads:
            raise ValueError("the quota must be a multiple of the threads")

    def senders(self) -> list[str]:
        """The sender of every request of a quota run."""
        per_thread = self.quota // self.threads
        return [
            f"{self.sender_prefix}{t}-{n}"
            for t in range(1, self.threads + 1)
            for n in range(1, per_thread + 1)
        ]

    def account(self, thread: int) -> str:
        return self.accounts[(thread - 1) % len(self.accounts)]

    def body(self, thread: int, n: int) -> str:
        return (
            EVENT_TEMPLATE.replace("MID", f"{self.prefix}.{thread}.{n}")
            .replace("SENDER", f"{self.sender_prefix}{thread}-{n}")
            .replace("ACCOUNT", self.account(thread))
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LoadResult:
    tool: str
    seconds: float
    requests: int  # answered
    accepted: int  # answered 202
    errors: int  # answered otherwise, or failed (connection, timeout)
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self) | {
            "accepted_per_second": round(self.accepted_per_second, 1),
            "requests_per_second": round(self.requests_per_second, 1),
        }
