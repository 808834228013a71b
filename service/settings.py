"""Typed settings, read once from the environment (or any mapping, in tests).

A missing or malformed setting raises `SettingsError` with one line naming it, so a
process stops at start rather than failing at its first request.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_VERIFY_URL_BASE = "https://c702be487ed4.ngrok-free.app/verify"
DEFAULT_INSTAGRAM_API_BASE_URL = "https://graph.instagram.com/v24.0"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str
    internal_service_token: str = dataclasses.field(repr=False)
    instagram_access_token: str = dataclasses.field(repr=False)
    instagram_scoped_id: str = "me"
    instagram_api_base_url: str = DEFAULT_INSTAGRAM_API_BASE_URL
    instagram_webhook_verification_token: str | None = dataclasses.field(default=None, repr=False)
    instagram_app_secret: str | None = dataclasses.field(default=None, repr=False)
    internal_ingest_url: str = "http://127.0.0.1:8000/api/internal/ingest-event"
    verify_url_base: str = DEFAULT_VERIFY_URL_BASE
    host: str = "0.0.0.0"
    port: int = 8000
    # Tunables, each with a documented default in .env.example.
    verification_resend_seconds: int = 600
    verification_token_ttl_seconds: int = 3600
    send_max_retries: int = 3
    send_backoff_base_seconds: float = 1.0
    send_backoff_cap_seconds: float = 10.0
    graph_timeout_seconds: float = 10.0
    send_dm_wait_seconds: float = 5.0
    db_pool_min_size: int = 2
    db_pool_max_size: int = 10
    db_pool_timeout_seconds: float = 5.0
    worker_concurrency: int = 10
    worker_poll_seconds: float = 1.0
    worker_heartbeat_seconds: float = 5.0
    worker_stalled_seconds: float = 20.0
    worker_rescue_interval_seconds: int = 5
    worker_shutdown_seconds: float = 30.0
    worker_database_outage_seconds: float = 120.0
    log_format: str = "auto"
    log_level: str = "INFO"

    @classmethod
    def from_mapping(cls, env: Mapping[str, str], **overrides: Any) -> Settings:
        """Build settings from `env` (upper-case names); `overrides` win over `env`."""
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            name = field.name.upper()
            if field.name in overrides:
                values[field.name] = overrides[field.name]
                continue
            raw = env.get(name)
            if raw is None or raw == "":
                if field.default is dataclasses.MISSING:
                    raise SettingsError(f"missing required setting {name}")
                continue
            values[field.name] = _convert(name, field.type, raw)
        return cls(**values)

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        return cls.from_mapping(os.environ, **overrides)

    @property
    def graph_is_sandbox(self) -> bool:
        return self.instagram_api_base_url.startswith(("http://127.", "http://localhost"))


def _convert(name: str, type_name: Any, raw: str) -> Any:
    kind = str(type_name)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise SettingsError(f"setting {name} must be a number, got {raw!r}") from None
    return raw


def load_dotenv_file(path: Path = Path(".env")) -> None:
    """Read `.env` into the environment without overriding what is already set."""
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)
