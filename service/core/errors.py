"""Domain errors that the service raises; `service.http.error_responses` maps them to HTTP."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the errors a caller caused; the message is safe to show them."""


class NotFound(ServiceError):
    """What the request names does not exist."""


class InvalidRequest(ServiceError):
    """The request is well-formed but cannot be carried out as asked."""


class Conflict(ServiceError):
    """The request contradicts what an earlier one did (a key reused with another body,
    a DM already sent)."""


class Gone(ServiceError):
    """What the request names existed but is no longer usable (an expired token)."""


class MalformedRequest(ServiceError):
    """The request body cannot be read at all (e.g. it is not JSON)."""


class Unauthenticated(ServiceError):
    """The request does not say who sent it (e.g. no signature)."""


class Forbidden(ServiceError):
    """The request's proof of origin is wrong (a bad signature or verify token)."""


class RateLimited(ServiceError):
    """The request would wait out a rate limit longer than it may: try again after
    `retry_after_seconds`."""

    def __init__(self, message: str, *, retry_after_seconds: float) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
