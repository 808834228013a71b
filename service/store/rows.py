"""Row types that the store returns."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

RowT = TypeVar("RowT", bound="DataclassInstance")


def from_row(cls: type[RowT], row: Mapping[str, Any]) -> RowT:
    """Build `cls` from a dict row, ignoring columns the type does not name."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in row.items() if k in names})


@dataclasses.dataclass(frozen=True, kw_only=True)
class InstagramProfile:
    ig_id: str
    username: str | None = None
    display_name: str | None = None
    profile_pic_url: str | None = None
    connected_user_id: uuid.UUID | None = None
    connected_at: dt.datetime | None = None

    @property
    def connected(self) -> bool:
        return self.connected_user_id is not None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Message:
    id: str
    sender_ig_id: str
    recipient_ig_id: str
    message_text: str | None
    attachments: Any
    is_echo: bool
    source: str
    timestamp: dt.datetime
    processed: bool
    handled_at: dt.datetime | None
    deleted_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class VerificationToken:
    token_hash: str
    ig_id: str
    expires_at: dt.datetime
    consumed: bool
    created_by_event_id: str | None
    consumed_at: dt.datetime | None = None
    consumed_by_user_id: uuid.UUID | None = None
    released_messages: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class OutboundMessage:
    id: uuid.UUID
    recipient_ig_id: str
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int
    remote_message_id: str | None
    error: str | None
    message_id: str | None
    # `attempts` when an operator last re-queued the DM; the retry limit counts from here.
    retry_base: int = 0
    requeued_at: dt.datetime | None = None
    sending_attempt_id: uuid.UUID | None = None
    sending_started_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


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


@dataclasses.dataclass(frozen=True, kw_only=True)
class WebhookDelivery:
    id: int
    signed: bool
    received_at: dt.datetime
    status: str
    attempts: int
    messages_forwarded: int
    last_error: str | None
    processed_at: dt.datetime | None
    # `attempts` when an operator last re-queued it; the retry limit counts from here.
    retry_base: int = 0
    body: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class StoredAccessToken:
    """An account's access token as stored: encrypted, with its lifecycle."""

    scoped_id: str
    token_ciphertext: str = dataclasses.field(repr=False)
    token_digest: str = dataclasses.field(repr=False)
    source: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    refreshed_at: dt.datetime | None = None
    refresh_attempted_at: dt.datetime | None = None
    refresh_error: str | None = None
    invalid_at: dt.datetime | None = None
    invalid_error: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class IdempotencyKey:
    key_hash: str
    request_hash: str
    outbound_message_id: uuid.UUID
    created_at: dt.datetime
