"""The internal API: ingest-event (and its batch form, ingest-events) and ingest-edit, the three
DM/token endpoints, and verify."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from service.core.errors import InvalidRequest
from service.core.runtime import Runtime
from service.dms import asks, idempotency
from service.http.guards import require_service_token
from service.http.refusals import INTERNAL_POST, ErrorBody, refusals
from service.http.schemas import (
    GenerateVerificationRequest,
    GenerateVerificationResponse,
    IngestEditResponse,
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

ACCEPTED = "Event accepted for processing"
EDIT_ACCEPTED = IngestEditResponse(success=True, message="Edit accepted")
# Bodies larger than any valid request are refused (413) before they are read in full.
MAX_BODY_BYTES = 64 * 1024
MAX_EVENT_BODY_BYTES = 1024 * 1024  # a message text of 100 000 characters, escaped
# The schema's description of `ingest-events`, for its callers.
BATCH_DESCRIPTION = (
    "Store up to 1,000 message events and queue their decisions, in their order, as "
    "ingest-event does each, all or none: one event refused, whether by validation (400) or "
    "by the database (422, a value Postgres cannot store), refuses the request, and nothing "
    "of it is stored. A repeated mid is accepted again and changes nothing; `new` counts the "
    "events that were not known before."
)
# As for Meta's deliveries (`service.http.webhooks.MAX_DELIVERY_BYTES`): a delivery's messages,
# forwarded in one batch, take less than the delivery did. A larger batch is refused (413),
# and the webhook forwarder then posts its messages one by one.
MAX_BATCH_BODY_BYTES = 4 * 1024 * 1024
RATE_LIMITED = {
    429: "a Graph API rate limit holds longer than SEND_DM_WAIT_SECONDS: nothing was sent; "
    "retry after the Retry-After header's seconds"
}
# A DM's answers but 200 (sent) and the refusals: still under way, or failed.
DM_ANSWERS = {
    202: ResponseSpec(
        SendDmResponse,
        description='not sent yet (status "pending"), or its outcome unknown: its job sends it',
        generate_examples=False,
    ),
    422: ResponseSpec(
        SendDmResponse | ErrorBody,
        description='the DM failed (status "failed", and why), or a value cannot be stored',
        generate_examples=False,
    ),
}


class InternalController(Controller):
    path = "/api/internal"
    guards = [require_service_token]
    tags = ["internal"]
    request_max_body_size = MAX_BODY_BYTES

    @post(
        "/ingest-event",
        status_code=HTTP_202_ACCEPTED,
        request_max_body_size=MAX_EVENT_BODY_BYTES,
        responses=refusals(INTERNAL_POST),
    )
    async def ingest_event(
        self, data: JSONBody[IngestEventRequest], groups: NamedDependency[IngestGroups]
    ) -> IngestEventResponse:
        """Store a message event and queue its decision; a repeated mid is accepted again
        and changes nothing. Answered once it is committed, with the events of the requests
        that came in meanwhile (`service.messages.group_commit`). `duplicate` says whether
        the mid was known already (for an unsend: whether it was done before)."""
        try:
            event = data.to_event()
        except ValueError as exc:
            raise ValidationException(f"timestamp: {exc}") from None
        new = await groups.ingest(event)
        return IngestEventResponse(success=True, message=ACCEPTED, duplicate=not new)

    @post(
        "/ingest-events",
        status_code=HTTP_202_ACCEPTED,
        request_max_body_size=MAX_BATCH_BODY_BYTES,
        responses=refusals(INTERNAL_POST),
        description=BATCH_DESCRIPTION,
    )
    async def ingest_events(
        self, data: JSONBody[IngestEventsRequest], rt: NamedDependency[Runtime]
    ) -> IngestEventsResponse:
        """The batch form of `ingest-event`, all or none (`BATCH_DESCRIPTION`)."""
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

    @post(
        "/ingest-edit",
        status_code=HTTP_202_ACCEPTED,
        request_max_body_size=MAX_EVENT_BODY_BYTES,
        responses=refusals(INTERNAL_POST),
    )
    async def ingest_edit(
        self, data: JSONBody[edits.IngestEditRequest], rt: NamedDependency[Runtime]
    ) -> IngestEditResponse:
        """Apply an edit (Meta's `message_edit`) to its stored message and record it; a
        repeated edit is accepted again and changes nothing."""
        try:
            edited_at = edits.edit_time(data)
        except ValueError as exc:
            raise ValidationException(f"timestamp: {exc}") from None
        await edits.ingest_edit(rt, data, edited_at)
        return EDIT_ACCEPTED

    @post(
        "/generate-verification",
        status_code=HTTP_200_OK,
        responses=refusals(
            {**INTERNAL_POST, 404: "this event already has a token for another account"}
        ),
    )
    async def generate_verification(
        self, data: JSONBody[GenerateVerificationRequest], rt: NamedDependency[Runtime]
    ) -> GenerateVerificationResponse:
        """Mint a verification token; only its SHA-256 hash is returned or stored."""
        token = await asks.generate_verification(rt, ig_id=data.ig_id, event_id=data.event_id)
        return GenerateVerificationResponse(
            token_hash=token.token_hash, expires_at=token.expires_at, ig_id=token.ig_id
        )

    @post(
        "/send-verification-dm",
        status_code=HTTP_200_OK,
        responses={
            **refusals(
                {
                    **INTERNAL_POST,
                    **RATE_LIMITED,
                    404: "no unexpired, unused verification token of this ig_id matches",
                    409: "this token was DMed within VERIFICATION_RESEND_SECONDS",
                }
            ),
            **DM_ANSWERS,
        },
    )
    async def send_verification_dm(
        self, data: JSONBody[SendVerificationDmRequest], rt: NamedDependency[Runtime]
    ) -> Response[SendDmResponse]:
        """Send the verification DM for the token generate-verification made for `event_id`
        (minted anew for the link), or for the live token `token_plain`, waiting at most
        SEND_DM_WAIT_SECONDS; 429 with Retry-After when a rate limit holds longer, 409 when
        this token was DMed within VERIFICATION_RESEND_SECONDS."""
        if (data.event_id is None) == (data.token_plain is None):
            raise ValidationException("give exactly one of event_id and token_plain")
        if data.event_id is not None:
            dm = await asks.send_event_verification_dm(
                rt, ig_id=data.ig_id, event_id=data.event_id, account_ig_id=data.account_ig_id
            )
        else:
            dm = await asks.send_verification_dm(
                rt,
                ig_id=data.ig_id,
                token_plain=data.token_plain or "",
                account_ig_id=data.account_ig_id,
            )
        return _dm_response(dm)

    @post(
        "/send-dm",
        status_code=HTTP_200_OK,
        responses={
            **refusals(
                {
                    **INTERNAL_POST,
                    **RATE_LIMITED,
                    409: f"this {idempotency.HEADER} came with another body, or has just expired",
                }
            ),
            **DM_ANSWERS,
        },
    )
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
        dm = await asks.send_dm(
            rt,
            ig_id=data.ig_id,
            text=data.message_text,
            kind=data.kind,
            idempotency_key=idempotency_key,
            account_ig_id=data.account_ig_id,
        )
        return _dm_response(dm)

    @post(
        "/verify",
        status_code=HTTP_200_OK,
        responses=refusals(
            {
                **INTERNAL_POST,
                404: "no verification token matches this token and ig_id",
                409: "the account is connected to another user, or the link was used by one",
                410: "the verification link has expired",
            }
        ),
    )
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
            username=connected.username,
            display_name=connected.display_name,
            profile_pic_url=connected.profile_pic_url,
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
