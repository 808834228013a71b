"""Request and response bodies of the internal API: names and shapes callers rely on. The
ingest-event request is the inbound message's own, `service.messages.inbound.IngestEventRequest`;
ingest-events takes a list of them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from service.messages.field_rules import Id, Text
from service.messages.inbound import IngestEventRequest
from service.store.rows import DMKind


class IngestEventResponse(msgspec.Struct):
    success: bool
    message: str
    # As the webhook says it.
    duplicate: Annotated[
        bool,
        msgspec.Meta(
            description="The mid was known already (an unsend: done before): nothing new was "
            "stored or queued."
        ),
    ]


class IngestEditResponse(msgspec.Struct):
    success: bool
    message: str


# A Meta delivery holds at most a few hundred messages; the webhook forwarder posts its
# messages in one request of this size at most.
MAX_BATCH_EVENTS = 1000


class IngestEventsRequest(msgspec.Struct, kw_only=True, frozen=True):
    """`POST /api/internal/ingest-events`: the bodies of as many `ingest-event` requests,
    stored in order, each validated and idempotent by mid as there."""

    events: Annotated[
        list[IngestEventRequest], msgspec.Meta(min_length=1, max_length=MAX_BATCH_EVENTS)
    ]


class IngestEventsResponse(msgspec.Struct):
    success: bool
    message: str
    accepted: int  # every event of the request
    new: int  # of those, the ones not known before (a repeated mid, an unsend done before)


class GenerateVerificationRequest(msgspec.Struct, kw_only=True):
    ig_id: Id
    event_id: Id


class GenerateVerificationResponse(msgspec.Struct):
    token_hash: str
    expires_at: dt.datetime
    ig_id: str


class SendVerificationDmRequest(msgspec.Struct, kw_only=True):
    """Names the token to DM by exactly one of `event_id` (the event given to
    generate-verification; the token is minted anew for the link) and `token_plain` (a
    live token whose plaintext the caller holds)."""

    ig_id: Id
    event_id: Id | None = None
    token_plain: Annotated[str, msgspec.Meta(min_length=1, max_length=256)] | None = None
    # The account to send from; by default the one the recipient wrote to (which, given,
    # it must be: 422 otherwise).
    account_ig_id: Id | None = None


class VerifyRequest(msgspec.Struct, kw_only=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    ig_id: Id
    user_id: uuid.UUID


class VerifyResponse(msgspec.Struct, kw_only=True):
    success: bool
    ig_id: str
    user_id: uuid.UUID
    connected_at: dt.datetime
    released_messages: int
    # Who the account is, from Meta's User Profile API; null until Meta answered for it.
    username: str | None
    display_name: str | None
    profile_pic_url: str | None


class SendDmRequest(msgspec.Struct, kw_only=True):
    ig_id: Id
    message_text: Text
    kind: DMKind = DMKind.CUSTOM
    # As on send-verification-dm.
    account_ig_id: Id | None = None


class SendDmResponse(msgspec.Struct, kw_only=True, omit_defaults=True):
    success: bool
    outbound_message_id: uuid.UUID
    remote_message_id: str | None = None
    status: str | None = None
    error: str | None = None


class DeliveryAccepted(msgspec.Struct):
    success: bool
    delivery_id: int
    # The same bytes were stored already (within 24 hours): nothing new was queued.
    duplicate: bool = False
