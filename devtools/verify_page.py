"""Development only: the page that the verification DM's link opens under `ingest dev`.

In production the link opens Reeva's web app, which signs the user in and calls
`POST /api/internal/verify`. Here there is no web app, so `ingest dev` (and nothing else)
mounts this page and points the link at it when VERIFY_URL_BASE is unset: opening it
consumes the token for a development user, through the same code as the endpoint, so the
whole path can be followed locally: message, link, connected, earlier messages saved, next
message acknowledged. Like the web app's page, it connects on opening; a second opening
by the same user answers as the first did.
"""

from __future__ import annotations

import html
import uuid

from litestar import Controller, MediaType, get
from litestar.di import NamedDependency

from service.core.runtime import Runtime
from service.linking import verification

PATH = "/dev/verify"
# The Reeva user every account connected through this page belongs to.
DEV_USER_ID = uuid.UUID("00000000-0000-4000-8000-00000000d0e1")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Reeva (development): connected</title></head>
<body>
<h1>Connect {who} to Reeva</h1>
<p>Connected: Instagram account <code>{ig_id}</code> is connected to the development user
<code>{user_id}</code>.</p>
<p>{released} earlier message{plural} saved to Phase 3.</p>
<p>Send another message from that account: it is acknowledged and saved.</p>
</body></html>
"""


class VerifyPage(Controller):
    path = PATH
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def verify(self, token: str, ig_id: str, rt: NamedDependency[Runtime]) -> str:
        """Consume the link's token for the development user; errors answer as the
        endpoint's do (404 unknown, 410 expired, 409 taken)."""
        connected = await verification.verify(rt, token=token, ig_id=ig_id, user_id=DEV_USER_ID)
        # The username once Meta gave it (after the user's first message), else the IGSID.
        who = f"@{connected.username}" if connected.username else connected.ig_id
        return _PAGE.format(
            who=html.escape(who),
            ig_id=html.escape(connected.ig_id),
            user_id=connected.user_id,
            released=connected.released_messages,
            plural="" if connected.released_messages == 1 else "s",
        )
