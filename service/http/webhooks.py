"""Meta's webhook for Instagram messaging: the subscription handshake and deliveries."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_200_OK

from service.core.runtime import Runtime
from service.http.refusals import MALFORMED, TOO_LARGE, UNAVAILABLE, UNSTORABLE, refusals
from service.http.schemas import DeliveryAccepted
from service.webhooks.intake import accept_delivery
from service.webhooks.signatures import SIGNATURE_HEADER, challenge_answer

# Meta's largest delivery: 1000 updates, each a message of 1000 characters that Meta escapes
# (`\uXXXX`), measured at 6.3 MB (`tests.support.meta_payloads.largest_delivery`); with
# headroom. A body is held whole until its signature is checked, which the caps on bodies in
# flight and their pace bound (`service.http.protocol`).
MAX_DELIVERY_BYTES = 8 * 1024 * 1024


class WebhookController(Controller):
    path = "/api/webhooks/instagram"
    tags = ["webhooks"]

    @get(
        media_type=MediaType.TEXT,
        status_code=HTTP_200_OK,
        responses=refusals(
            {
                **MALFORMED,
                403: "hub.verify_token is not ours, or hub.mode=subscribe or hub.challenge "
                "is missing",
            }
        ),
    )
    async def verify_subscription(
        self,
        request: Request,
        mode: Annotated[str | None, QueryParameter(name="hub.mode")] = None,
        token: Annotated[str | None, QueryParameter(name="hub.verify_token")] = None,
        challenge: Annotated[str | None, QueryParameter(name="hub.challenge")] = None,
    ) -> str:
        """Meta's handshake: echo `hub.challenge` when `hub.verify_token` is ours, else 403."""
        expected = request.app.state.settings.instagram_webhook_verification_token
        return challenge_answer(
            expected_token=expected, mode=mode, token=token, challenge=challenge
        )

    @post(
        status_code=HTTP_200_OK,
        request_max_body_size=MAX_DELIVERY_BYTES,
        responses=refusals(
            {
                400: "the body is not JSON",
                401: "no X-Hub-Signature-256 header, or a malformed one (or no app secret "
                "is set to check it)",
                403: "X-Hub-Signature-256 does not match the body",
                **TOO_LARGE,
                **UNSTORABLE,
                **UNAVAILABLE,
            }
        ),
    )
    async def receive_delivery(
        self, request: Request, rt: NamedDependency[Runtime]
    ) -> DeliveryAccepted:
        """Store a signed delivery and queue its forwarding; 200 as soon as it is stored.
        The same bytes again within 24 hours: 200 with the stored delivery's id."""
        body = await request.body()
        delivery_id, new = await accept_delivery(rt, body, request.headers.get(SIGNATURE_HEADER))
        return DeliveryAccepted(success=True, delivery_id=delivery_id, duplicate=not new)
