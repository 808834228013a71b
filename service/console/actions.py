"""The console's actions (POST, each behind the CSRF check): re-queue failed DMs (one, or
all matching), replay a failed webhook delivery, reveal a message's text."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException

from service.console import failures, render, timeline
from service.console.context import bigint, dm_filter, field, is_htmx, operator
from service.core.runtime import Runtime
from service.operations import requeue


class ActionsController(Controller):
    path = "/console"
    include_in_schema = False

    @post("/requeue", status_code=200)
    async def requeue_matching(
        self, request: Request, rt: NamedDependency[Runtime]
    ) -> Response[str]:
        form = await request.form()
        which = dm_filter(form)
        result = await failures.requeue_dms(rt, which, operator=operator(request))
        return _requeued(request, result)

    @post("/dms/requeue", status_code=200)
    async def requeue_one(self, request: Request, rt: NamedDependency[Runtime]) -> Response[str]:
        form = await request.form()
        try:
            outbound_id = uuid.UUID(field(form, "outbound_id") or "")
        except ValueError:
            raise ValidationException("outbound_id must be a DM's id (a UUID)") from None
        result = await failures.requeue_dms(
            rt, failures.DMFilter(), operator=operator(request), outbound_id=outbound_id
        )
        return _requeued(request, result)

    @post("/deliveries/replay", status_code=200)
    async def replay(self, request: Request, rt: NamedDependency[Runtime]) -> Response[str]:
        form = await request.form()
        raw = field(form, "delivery_id") or ""
        try:
            delivery_id = bigint(raw)
        except ValueError:
            raise ValidationException("delivery_id must be a webhook delivery's id") from None
        result = await failures.replay_delivery(rt, delivery_id, operator=operator(request))
        if result is None:
            return render.page(request, "search.html", q=raw, status_code=404)
        return render.page(
            request, "done.html", title="Replayed", dms=None, unknown=0, delivery=result.delivery
        )

    @post("/message/reveal", status_code=200)
    async def reveal(self, request: Request, rt: NamedDependency[Runtime]) -> Response[str]:
        form = await request.form()
        mid = field(form, "mid") or ""
        content = await timeline.content(rt, mid)
        if content is None:
            return render.page(request, "search.html", q=mid, status_code=404)
        failures.log_reveal(operator(request), mid)
        if is_htmx(request):
            return render.page(request, "_content.html", content=content)
        found = await timeline.message(rt, mid)
        return render.page(request, "message.html", content=content, **(found or {}))


def _requeued(request: Request, result: requeue.Requeued) -> Response[str]:
    """The page after a re-queue: what went back to the queue, and what was left out."""
    return render.page(
        request,
        "done.html",
        title="Re-queued",
        dms=result.dms,
        unknown=result.unknown_left_out,
        delivery=None,
    )
