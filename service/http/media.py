"""Fresh media URLs for Phase 3: `POST /api/internal/messages/{mid}/refresh-media`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK

from service.core.errors import NotFound
from service.core.runtime import Runtime
from service.http.guards import require_service_token
from service.http.refusals import INTERNAL, TOO_LARGE, refusals
from service.messages import media_refresh
from service.messages.field_rules import is_id


class RefreshMediaResponse(msgspec.Struct, kw_only=True):
    mid: str
    # The message's `shared_items` with fresh URLs (docs/phase3.md); [] when it shared nothing.
    shared_items: list[dict[str, Any]]
    # When they were read from Meta; null when the message shared nothing to refresh.
    refreshed_at: dt.datetime | None


class MediaController(Controller):
    path = "/api/internal/messages"
    guards = [require_service_token]
    tags = ["phase3"]

    @post(
        "/{mid:str}/refresh-media",
        status_code=HTTP_200_OK,
        responses=refusals(
            {
                **INTERNAL,
                **TOO_LARGE,
                404: "no message has this mid",
                410: "Meta no longer has the message (or it was unsent): recorded, and "
                "answered so again without asking Meta",
                429: "the read waits its turn under GRAPH_READ_RATE, Meta's rate limit "
                "holds, the Graph API did not answer, or the account's token was refused: "
                "retry after the Retry-After header's seconds",
            }
        ),
    )
    async def refresh_media(
        self, request: Request, mid: FromPath[str], rt: NamedDependency[Runtime]
    ) -> RefreshMediaResponse:
        """Read the message again from the Graph API and store fresh URLs for what it
        shared (Meta's URLs expire within days); answers its `shared_items`."""
        # It takes no body; reading whatever came holds it to the app's limit (413).
        await request.body()
        if not is_id(mid):
            raise NotFound("no message has this mid")
        refreshed = await media_refresh.refresh_media(rt, mid)
        return RefreshMediaResponse(
            mid=refreshed.mid,
            shared_items=msgspec.to_builtins(list(refreshed.shared_items)),
            refreshed_at=refreshed.refreshed_at,
        )
