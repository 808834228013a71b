"""The innermost of the app's middleware, so that the request log and the HTTP metrics
around it record what the client got:
- an error raised by a router's own middleware (the console's CSRF check, its form limit)
  is turned into its response here, as the handlers' errors are, instead of passing the log
  and the metrics as an exception (logged 500, counted 200) on its way to Litestar's
  outermost handler;
- a client that goes away before its announced body is complete (or is cut off as too slow,
  `service.http.protocol`) is an aborted upload: answered (to no one) 499, as nginx logs
  it, and counted in `ingest_http_aborted_uploads_total`, not as a server error.
"""

from __future__ import annotations

from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from service.core.metrics import HTTP_ABORTED_UPLOADS
from service.http.error_responses import response_for
from service.http.protocol import announces_body

CLIENT_CLOSED_REQUEST = 499


class UploadAborted(HTTPException):
    status_code = CLIENT_CLOSED_REQUEST
    detail = "the client went away before its request body was complete"


def outcome_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        body_pending = announces_body(scope["headers"])
        answered = False

        async def watched_receive() -> ReceiveMessage:
            nonlocal body_pending
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                body_pending = False
            elif message["type"] == "http.disconnect" and body_pending:
                body_pending = False
                HTTP_ABORTED_UPLOADS.inc()
                raise UploadAborted()
            return message

        async def watched_send(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await app(scope, watched_receive, watched_send)
        except Exception as exc:
            if answered:
                raise
            request: Request = Request(scope)
            response = response_for(request, exc).to_asgi_response(app=None, request=request)
            await response(scope, receive, watched_send)

    return middleware
