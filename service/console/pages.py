"""The console's pages (GET): overview, search, a message's timeline, a user, failures,
and the dry run shown before a re-queue of all matching failed DMs."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.response import Redirect

from service.console import failures, render, timeline
from service.console.context import (
    Console,
    bigint,
    cursor,
    dm_filter,
    field,
    is_htmx,
    operator,
)
from service.core.runtime import Runtime
from service.operations.thresholds import Thresholds
from service.store import console as console_store

# Threshold parameters the overview passes on to its refreshes (as GET /api/internal/status).
THRESHOLD_NAMES = tuple(Thresholds.__dataclass_fields__)


def _thresholds(request: Request) -> tuple[Thresholds, dict[str, str]]:
    given = {k: v for k, v in request.query_params.items() if k in THRESHOLD_NAMES}
    try:
        return Thresholds.from_options(given), given
    except ValueError as exc:
        raise ValidationException(str(exc)) from None


class PagesController(Controller):
    path = "/console"
    include_in_schema = False

    @get("/")
    async def overview(
        self, request: Request, rt: NamedDependency[Runtime], console: NamedDependency[Console]
    ) -> Response[str]:
        thresholds, given = _thresholds(request)
        data = await console.overview.collect(rt, thresholds)
        template = "_overview.html" if is_htmx(request) else "overview.html"
        return render.page(request, template, given=given, **data)

    @get("/search")
    async def search(self, request: Request, rt: NamedDependency[Runtime]) -> Response[Any]:
        wanted = field(request.query_params, "q")
        if wanted is None:
            return render.page(request, "search.html", q="", status_code=200)
        async with rt.pool.connection() as conn:
            if await console_store.message(conn, wanted):
                return Redirect(f"/console/message?{render.query_string({'mid': wanted})}")
            found_user = await console_store.profile(conn, wanted) or (
                await console_store.user_messages(conn, wanted, limit=1)
            )
            named = (
                None
                if found_user
                else await console_store.profile_by_username(conn, wanted.removeprefix("@"))
            )
        if found_user or named:
            ig_id = named or wanted
            return Redirect(f"/console/user?{render.query_string({'ig_id': ig_id})}")
        return render.page(request, "search.html", q=wanted, status_code=404)

    @get("/message")
    async def message(self, request: Request, rt: NamedDependency[Runtime]) -> Response[str]:
        mid = field(request.query_params, "mid")
        found = await timeline.message(rt, mid) if mid else None
        if found is None:
            return render.page(request, "search.html", q=mid or "", status_code=404)
        return render.page(request, "message.html", content=None, **found)

    @get("/user")
    async def user(self, request: Request, rt: NamedDependency[Runtime]) -> Response[str]:
        ig_id = field(request.query_params, "ig_id")
        before = cursor(request.query_params, "before", str)
        found = await timeline.user(rt, ig_id, before=before) if ig_id else None
        if found is None:
            return render.page(request, "search.html", q=ig_id or "", status_code=404)
        return render.page(request, "user.html", **found)

    @get("/failures")
    async def failures(self, request: Request, rt: NamedDependency[Runtime]) -> Response[str]:
        params = request.query_params
        which = dm_filter(params)
        found = await failures.listing(
            rt,
            which,
            dms_before=cursor(params, "dms_before", uuid.UUID),
            deliveries_before=cursor(params, "deliveries_before", bigint),
        )
        given = {name: field(params, name) for name in ("kind", "error", "since", "account")}
        return render.page(request, "failures.html", given=given, kinds=failures.KINDS, **found)

    @get("/requeue")
    async def confirm_requeue(
        self, request: Request, rt: NamedDependency[Runtime]
    ) -> Response[str]:
        """The dry run of `ingest retry-failed`: what a re-queue of all matching would take."""
        which = dm_filter(request.query_params)
        result = await failures.requeue_dms(rt, which, operator=operator(request), dry_run=True)
        given = {
            name: field(request.query_params, name)
            for name in ("kind", "error", "since", "account")
        }
        return render.page(
            request, "requeue.html", given=given, dms=result.dms, unknown=result.unknown_left_out
        )
