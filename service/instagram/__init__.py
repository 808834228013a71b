"""Instagram Graph API: the Send API client and its error tree (see `graph_errors`)."""

from service.instagram.client import (
    MAX_TEXT_BYTES,
    GraphClient,
    SendResult,
    build_http_client,
    text_fits,
)
from service.instagram.graph_errors import (
    DeliveredWithError,
    GraphError,
    InvalidAccessTokenError,
    PermanentGraphError,
    RateLimitedError,
    TransientGraphError,
    parse_retry_after,
)

__all__ = [
    "MAX_TEXT_BYTES",
    "DeliveredWithError",
    "GraphClient",
    "GraphError",
    "InvalidAccessTokenError",
    "PermanentGraphError",
    "RateLimitedError",
    "SendResult",
    "TransientGraphError",
    "build_http_client",
    "parse_retry_after",
    "text_fits",
]
