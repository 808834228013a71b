"""The internal API: ingest-event (and its batch form, ingest-events) and ingest-edit, the three
DM/token endpoints, and verify."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import HeaderParameter, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from service.core.errors import InvalidRequest
from service.core.runtime import Runtime
from service.dms import idempotency, requests
from service.http.guards import require_service_token
from service.http.schemas import (
    GenerateVerificationRequest,
    GenerateVerificationResponse,
    IngestEventResponse,
    IngestEventsRequest,
    IngestEventsResponse,
    SendDmRequest,
    SendDmResponse,
    SendVerificationDmRequest,
    VerifyRequest,
    VerifyResponse,
)
from service.instagram import text_fits
from service.linking import verification
from service.messages import edits
from service.messages.group_commit import IngestGroups
from service.messages.inbound import IngestEventRequest
from service.messages.ingestion import ingest_events
from service.store.rows import DMStatus, OutboundMessage

ACCEPTED = IngestEventResponse(success=True, message="Event accepted for processing")
EDIT_ACCEPTED = IngestEventResponse(success=True, message="Edit accepted")
# Bodies larger than any valid request are refused (413) before they are read in full.
MAX_BODY_BYTES = 64 * 1024
MAX_EVENT_BODY_BYTES = 1024 * 1024  # a message text of 100 000 characters, escaped
# As for Meta's deliveries (`service.http.app.MAX_BODY_BYTES`): a delivery's messages,
# forwarded in one batch, take less than the delivery did. A larger batch is refused (413),
# and the webhook forwarder then posts its messages one by one.
MAX_BATCH_BODY_BYTES = 4 * 1024 * 1024


class InternalController(Controller):
    path = "/api/internal"
    guards = [require_service_token]
    tags = ["internal"]
    request_max_body_size = MAX_BODY_BYTES

    @post(
        "/ingest-event", status_code=HTTP_202_ACCEPTED, request_max_body_size=MAX_EVENT_BODY_BYTES
    )
    async def ingest_event(
        self, data: JSONBody[IngestEventRequest], groups: NamedDependency[IngestGroups]
    ) -> IngestEventResponse:
        """Store a message event and queue its processing; a repeated mid is accepted again
        and changes nothing. Answered once it is committed, with the events of the requests
        that came in meanwhile (`service.messages.group_commit`)."""
        try:
            event = data.to_event()
        except ValueError as exc:
            raise ValidationException(f"timestamp: {exc}") from None
        await groups.ingest(event)
        return ACCEPTED

    @post(
        "/ingest-events", status_code=HTTP_202_ACCEPTED, request_max_body_size=MAX_BATCH_BODY_BYTES
    )
    async def ingest_events(
        self, data: JSONBody[IngestEventsRequest], rt: NamedDependency[Runtime]
    ) -> IngestEventsResponse:
        """Store up to 1,000 message events and queue their processing, in their order, as
        `ingest-event` does each: one refused event refuses the request, which stores
        nothing; a repeated mid is accepted again and changes nothing."""
        events = []
        for number, body in enumerate(data.events):
            try:
                events.append(body.to_event())
            except ValueError as exc:
                raise ValidationException(f"events[{number}].timestamp: {exc}") from None
        new = await ingest_events(rt, events)
        return IngestEventsResponse(
            success=True,
            message="Events accepted for processing",
            accepted=len(new),
            new=sum(new),
        )

    @post("/ingest-edit", status_code=HTTP_202_ACCEPTED, request_max_body_size=MAX_EVENT_BODY_BYTES)
    async def ingest_edit(
        self, data: JSONBody[edits.IngestEditRequest], rt: NamedDependency[Runtime]
    ) -> IngestEventResponse:
        """Apply an edit (Meta's `message_edit`) to its stored message and record it; a
        repeated edit is accepted again and changes nothing."""
        try:
            edited_at = edits.edit_time(data)
        except ValueError as exc:
            raise ValidationException(f"timestamp: {exc}") from None
        await edits.ingest_edit(rt, data, edited_at)
        return EDIT_ACCEPTED

    @post("/generate-verification", status_code=HTTP_200_OK)
    async def generate_verification(
        self, data: JSONBody[GenerateVerificationRequest], rt: NamedDependency[Runtime]
    ) -> GenerateVerificationResponse:
        """Mint a verification token; only its SHA-256 hash is returned or stored."""
        token = await requests.generate_verification(rt, ig_id=data.ig_id, event_id=data.event_id)
        return GenerateVerificationResponse(
            token_hash=token.token_hash, expires_at=token.expires_at, ig_id=token.ig_id
        )

    @post("/send-verification-dm", status_code=HTTP_200_OK)
    async def send_verification_dm(
        self, data: JSONBody[SendVerificationDmRequest], rt: NamedDependency[Runtime]
    ) -> Response[SendDmResponse]:
        """Send the verification DM for a live token of this account, waiting at most
        SEND_DM_WAIT_SECONDS; 429 with Retry-After when a rate limit holds longer, 409 when
        this token was DMed within VERIFICATION_RESEND_SECONDS."""
        dm = await requests.send_verification_dm(
            rt, ig_id=data.ig_id, token_plain=data.token_plain, account_ig_id=data.account_ig_id
        )
        return _dm_response(dm)

    @post("/send-dm", status_code=HTTP_200_OK)
    async def send_dm(
        self,
        data: JSONBody[SendDmRequest],
        rt: NamedDependency[Runtime],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name=idempotency.HEADER,
                description="Repeat the request with the same key to get the first one's "
                "answer, with nothing sent again; another body under the key is 409. "
                "Kept 24 hours at least.",
            ),
        ] = None,
    ) -> Response[SendDmResponse]:
        """Send a DM; 200 once sent, 202 with status "pending" if still under way (also
        when its outcome cannot be read: it is recorded and its job sends it)."""
        if idempotency_key is not None:
            idempotency.check_key(idempotency_key)
        if not data.message_text.strip():
            raise InvalidRequest("message_text must not be empty")
        if not text_fits(data.message_text):
            raise InvalidRequest("message_text is longer than the Graph API's 1000 bytes")
        dm = await requests.send_dm(
            rt,
            ig_id=data.ig_id,
            text=data.message_text,
            kind=data.kind,
            idempotency_key=idempotency_key,
            account_ig_id=data.account_ig_id,
        )
        return _dm_response(dm)

    @post("/verify", status_code=HTTP_200_OK)
    async def verify(
        self, data: JSONBody[VerifyRequest], rt: NamedDependency[Runtime]
    ) -> VerifyResponse:
        """Consume a verification token: connect the account to the user and release the
        messages they sent before. 404 unknown token, 410 expired, 409 taken."""
        connected = await verification.verify(
            rt, token=data.token, ig_id=data.ig_id, user_id=data.user_id
        )
        return VerifyResponse(
            success=True,
            ig_id=connected.ig_id,
            user_id=connected.user_id,
            connected_at=connected.connected_at,
            released_messages=connected.released_messages,
        )


def _dm_response(dm: OutboundMessage) -> Response[SendDmResponse]:
    if dm.status is DMStatus.SENT:
        return Response(
            SendDmResponse(
                success=True, outbound_message_id=dm.id, remote_message_id=dm.remote_message_id
            )
        )
    if dm.status is DMStatus.PENDING:
        return Response(
            SendDmResponse(success=True, outbound_message_id=dm.id, status=DMStatus.PENDING),
            status_code=HTTP_202_ACCEPTED,
        )
    return Response(
        SendDmResponse(
            success=False, outbound_message_id=dm.id, status=DMStatus.FAILED, error=dm.error
        ),
        status_code=422,
    )
