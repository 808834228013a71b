"""Instagram Graph API: the Send API client, the account calls (`account_api`), and the
error tree (see `graph_errors`)."""

from service.instagram.client import (
    MAX_TEXT_BYTES,
    CurrentToken,
    GraphClient,
    SendResult,
    StaticToken,
    TokenSource,
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
    "CurrentToken",
    "DeliveredWithError",
    "GraphClient",
    "GraphError",
    "InvalidAccessTokenError",
    "PermanentGraphError",
    "RateLimitedError",
    "SendResult",
    "StaticToken",
    "TokenSource",
    "TransientGraphError",
    "build_http_client",
    "parse_retry_after",
    "text_fits",
]
