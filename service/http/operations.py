"""Operators' endpoints: liveness and readiness probes, the status report, one DM's row."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi import ResponseSpec
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from service.core.runtime import Runtime
from service.http.guards import require_service_token
from service.http.refusals import INTERNAL, refusals
from service.operations import lookup, readiness, status
from service.operations.thresholds import Thresholds
from service.store.rows import OutboundMessage


class ProbesController(Controller):
    tags = ["probes"]

    @get("/", include_in_schema=False)
    async def index(self, request: Request) -> dict[str, str]:
        """Where to go from the bare address: the console (when on) and the API's schema."""
        links = {"service": "Reeva Instagram ingestion", "schema": "/schema", "health": "/healthz"}
        if getattr(request.app.state, "console", None) is not None:
            links["console"] = "/console"
        return links

    @get("/healthz")
    async def healthz(self) -> dict[str, str]:
        """The process is up and serving; it asks nothing of the database."""
        return {"status": "ok"}

    @get(
        "/readyz",
        responses={
            503: ResponseSpec(
                dict[str, Any],
                description="not ready: the database does not answer, or its migrations are "
                "behind (`ready` false, and why)",
                generate_examples=False,
            )
        },
    )
    async def readyz(self, rt: NamedDependency[Runtime]) -> Response[dict[str, Any]]:
        """200 when the database answers and its migrations are current, else 503."""
        result = await readiness.check(rt.pool)
        return Response(
            result, status_code=HTTP_200_OK if result["ready"] else HTTP_503_SERVICE_UNAVAILABLE
        )


class OperationsController(Controller):
    path = "/api/internal"
    guards = [require_service_token]
    tags = ["operations"]

    @get("/status", responses=refusals(INTERNAL))
    async def status(self, request: Request, rt: NamedDependency[Runtime]) -> dict[str, Any]:
        """What `ingest status --json` prints; its flags are query parameters here
        (e.g. `?window=24h&max_job_wait=10m`)."""
        try:
            thresholds = Thresholds.from_options(request.query_params)
        except ValueError as exc:
            raise ValidationException(str(exc)) from None
        async with rt.pool.connection() as conn:
            return await status.collect(
                conn,
                thresholds,
                statement_timeout=rt.settings.status_statement_timeout_seconds,
                webhook_silence_seconds=rt.settings.webhook_silence_seconds,
                messaging_window=rt.settings.messaging_window_seconds,
            )

    @get(
        "/outbound/{outbound_id:str}",
        responses=refusals({**INTERNAL, 404: "no DM has this id"}),
    )
    async def outbound_message(
        self, outbound_id: FromPath[str], rt: NamedDependency[Runtime]
    ) -> OutboundMessage:
        """One DM's row: status, attempts, error, Graph API message id."""
        try:
            dm_id = uuid.UUID(outbound_id)
        except ValueError:
            raise ValidationException("the outbound id must be a UUID") from None
        return await lookup.outbound_message(rt, dm_id)
