"""Row types that the store returns.

A row type is complete: each of its fields is a column that every query read into it
returns, with no default that a query forgetting the column would silently fill. The
queries name a type's columns once, with the placeholder `{TypeName}` (or `{alias.TypeName}`)
that `service.store.queries` expands to its fields, and the store takes each such query
with `query(name, returns=TypeName)`, which refuses, at import, a query that does not name
them. A query that returns fewer columns reads into another, smaller type.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

RowT = TypeVar("RowT", bound="DataclassInstance")


class MissingColumn(LookupError):
    """A row lacks a column that its row type needs."""


def from_row(cls: type[RowT], row: Mapping[str, Any]) -> RowT:
    """Build `cls` from a dict row that has a column for each of its fields; the row may
    hold other columns of its query (a hold beside the DM that `begin_attempt` returns)."""
    names = [field.name for field in dataclasses.fields(cls)]
    missing = [name for name in names if name not in row]
    if missing:
        raise MissingColumn(f"the row lacks {', '.join(missing)} for {cls.__name__}")
    return cls(**{name: row[name] for name in names})


def columns(cls: type[DataclassInstance], alias: str | None = None) -> str:
    """The column list of the row type `cls`, each qualified with `alias` if given."""
    prefix = "" if alias is None else f"{alias}."
    return ", ".join(prefix + field.name for field in dataclasses.fields(cls))


@dataclasses.dataclass(frozen=True, kw_only=True)
class InstagramProfile:
    ig_id: str
    username: str | None
    display_name: str | None
    profile_pic_url: str | None
    connected_user_id: uuid.UUID | None
    connected_at: dt.datetime | None
    # The account the sender wrote to (their IGSID is scoped to it); None: written before
    # there were several, the environment's.
    account_ig_id: str | None

    @property
    def connected(self) -> bool:
        return self.connected_user_id is not None


@dataclasses.dataclass(frozen=True, kw_only=True)
class SenderProfile:
    """What Meta's User Profile API tells of a sender (`GET /{IGSID}`), under our names:
    Meta's `name` is `display_name`, its `profile_pic` `profile_pic_url` (which expires)."""

    display_name: str | None
    username: str | None
    profile_pic_url: str | None
    is_verified_user: bool | None
    follower_count: int | None
    is_user_follow_business: bool | None
    is_business_follow_user: bool | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class MessageClaim:
    """A message locked for its decision, with its sender's profile when the rules may
    answer it (`connected_user_id` None: unconnected, or not looked up)."""

    id: str
    sender_ig_id: str
    is_echo: bool
    source: str
    processed: bool
    decided_at: dt.datetime | None
    deleted_at: dt.datetime | None
    connected_user_id: uuid.UUID | None
    # The answered account the message was sent to (for an echo, the one that sent it);
    # None when no answered account is: the message is stored and never answered.
    account_ig_id: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class VerificationToken:
    token_hash: str
    ig_id: str
    expires_at: dt.datetime
    consumed: bool
    created_by_event_id: str | None
    consumed_at: dt.datetime | None
    consumed_by_user_id: uuid.UUID | None
    # How many earlier messages its consumption handed to Phase 3.
    released_messages: int | None


class DMKind(enum.StrEnum):
    """What a DM is (`outbound_messages.kind`)."""

    ACKNOWLEDGEMENT = "acknowledgement"
    VERIFICATION = "verification"
    # Asked for through send-dm with a text of the caller's, or the confirmation on connecting.
    CUSTOM = "custom"


class DMStatus(enum.StrEnum):
    """Where a DM is (`outbound_messages.status`): the spec's pending, sent, failed."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True, kw_only=True)
class OutboundMessage:
    id: uuid.UUID
    recipient_ig_id: str
    kind: DMKind
    payload: dict[str, Any]
    status: DMStatus
    attempts: int
    remote_message_id: str | None
    error: str | None
    message_id: str | None
    # `attempts` when an operator last re-queued the DM; the retry limit counts from here.
    retry_base: int
    requeued_at: dt.datetime | None
    # The attempt in flight, if any: the recovery point that `begin_attempt` commits.
    sending_attempt_id: uuid.UUID | None
    sending_started_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    # The account it is sent from; None: written before there were several, the
    # environment's (`service.dms.accounts.account_of`).
    account_ig_id: str | None

    def __post_init__(self) -> None:
        # The driver reads the columns as text.
        object.__setattr__(self, "kind", DMKind(self.kind))
        object.__setattr__(self, "status", DMStatus(self.status))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Phase3Item:
    id: int
    # "message": work on the message; "deletion": the message was unsent, undo that work.
    kind: str
    message_id: str
    ig_id: str
    connected_user_id: uuid.UUID
    attempts: int
    # This claim's fence: extend, complete and fail name it (docs/phase3.md).
    claim_token: uuid.UUID
    lease_expires_at: dt.datetime
    # The message's columns, as `messages` holds them (a deletion notice's are cleared).
    recipient_ig_id: str
    message_text: str | None
    attachments: Any
    shared_items: list[dict[str, Any]]
    reply_to: Any
    timestamp: dt.datetime
    edited_at: dt.datetime | None
    deleted_at: dt.datetime | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class WebhookDelivery:
    id: int
    signed: bool
    received_at: dt.datetime
    status: str
    attempts: int
    messages_forwarded: int
    last_error: str | None
    last_attempt_at: dt.datetime | None
    # `attempts` when an operator last re-queued it; the retry limit counts from here.
    retry_base: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class StoredDelivery(WebhookDelivery):
    """A delivery with its body, up to the webhook's 4 MiB: read only to forward it."""

    body: Any


@dataclasses.dataclass(frozen=True, kw_only=True)
class StoredAccessToken:
    """An account's access token as stored: encrypted, with its lifecycle."""

    scoped_id: str
    token_ciphertext: str = dataclasses.field(repr=False)
    token_digest: str = dataclasses.field(repr=False)
    source: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    refreshed_at: dt.datetime | None
    refresh_attempted_at: dt.datetime | None
    refresh_error: str | None
    invalid_at: dt.datetime | None
    invalid_error: str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class IdempotencyKey:
    key_hash: str
    request_hash: str
    outbound_message_id: uuid.UUID
    created_at: dt.datetime


# The row types that queries may name with `{TypeName}`.
ROW_TYPES: dict[str, type[DataclassInstance]] = {
    cls.__name__: cls
    for cls in (
        InstagramProfile,
        MessageClaim,
        VerificationToken,
        OutboundMessage,
        Phase3Item,
        WebhookDelivery,
        StoredDelivery,
        StoredAccessToken,
        IdempotencyKey,
    )
}
