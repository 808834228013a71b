"""Typed settings, read once from the environment (or any mapping, in tests).

Each field is read from its upper-case name (`db_pool_max_size` from `DB_POOL_MAX_SIZE`);
an empty value counts as unset. msgspec converts the strings to the fields' types
(numbers as Python writes them; booleans as true, false, 1 or 0, in any case). A missing
or malformed setting raises `SettingsError` with one line naming it (one line each, when
several are), so a process stops at start rather than failing at its first request.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec

# The spec's link: a development tunnel, never a default (`ingest dev` serves its own page).
DEFAULT_VERIFY_URL_BASE = "https://c702be487ed4.ngrok-free.app/verify"
DEFAULT_INSTAGRAM_API_BASE_URL = "https://graph.instagram.com/v24.0"


# What the web and worker processes cannot run without, beyond DATABASE_URL.
SERVICE_SETTINGS = ("internal_service_token", "instagram_access_token")
# ...and what a worker needs besides: where it forwards the webhook's deliveries.
WORKER_SETTINGS = (*SERVICE_SETTINGS, "internal_ingest_url")


class SettingsError(Exception):
    """Settings are missing or malformed: `problems`, one line naming each."""

    def __init__(self, *problems: str):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str
    # Required by the processes that use them (`require`), not by every command.
    internal_service_token: str | None = dataclasses.field(default=None, repr=False)
    instagram_access_token: str | None = dataclasses.field(default=None, repr=False)
    instagram_scoped_id: str = "me"
    instagram_api_base_url: str = DEFAULT_INSTAGRAM_API_BASE_URL
    instagram_webhook_verification_token: str | None = dataclasses.field(default=None, repr=False)
    instagram_app_secret: str | None = dataclasses.field(default=None, repr=False)
    # Fernet key of the access token stored in Postgres (`ingest token new-key`). Required
    # in production; unset elsewhere, the processes use INSTAGRAM_ACCESS_TOKEN as it is
    # and nothing renews it.
    token_encryption_key: str | None = dataclasses.field(default=None, repr=False)
    # The stored token is refreshed once at least a day old and this close to expiry.
    token_refresh_days: float = 10.0
    # How long a process keeps the stored token before reading it again: a token renewed
    # or set by another process is used within this long.
    token_cache_seconds: float = 10.0
    # While the token is invalid (Graph code 190), each held send looks again this often.
    token_hold_recheck_seconds: float = 30.0
    # No signed webhook delivery for this long fails the `webhook_silence` check; 0: off.
    webhook_silence_seconds: float = 21600.0
    # Required by the worker: this service's own ingest endpoint, as the workers reach it,
    # where the webhook's deliveries are forwarded (no default: a guess fails them all).
    internal_ingest_url: str | None = None
    # Development only: accept webhook posts without X-Hub-Signature-256 when no app secret
    # is set. Without either, the web process refuses to start.
    webhook_allow_unsigned: bool = False
    # Forwarding a delivery to the ingest endpoint: retries after the first attempt, waiting
    # base, 2 base, 4 base ... seconds (`service.core.backoff`), capped (about 37 minutes in
    # all by default).
    forward_max_retries: int = 12
    forward_backoff_base_seconds: float = 1.0
    forward_backoff_cap_seconds: float = 600.0
    # Forwarded deliveries are deleted after this many days; 0 keeps them forever.
    webhook_retention_days: int = 30
    # Unset (empty) outside `ingest dev`, which points it at its own page: production
    # refuses to start without it (service.core.production).
    verify_url_base: str = ""
    host: str = "0.0.0.0"
    port: int = 8000
    # What one web process gives a client (`service.http.protocol`): its request headers
    # within this long of connecting (or of the request's first byte)...
    http_header_timeout_seconds: float = 5.0
    # ...its body with no pause this long, and at HTTP_BODY_MIN_RATE bytes a second on
    # average after this long (0: no minimum rate)...
    http_body_timeout_seconds: float = 10.0
    http_body_min_rate: int = 50_000
    # ...an idle kept-alive connection this long...
    http_keep_alive_seconds: int = 5
    # ...and a 503 with Retry-After beyond this many connections, or bodies being received.
    http_max_connections: int = 500
    http_max_bodies_in_flight: int = 16
    # Tunables, each with a documented default in .env.example.
    verification_resend_seconds: int = 600
    verification_token_ttl_seconds: int = 3600
    # On connecting, the messages the user sent within this many days before reach Phase 3.
    release_window_days: int = 7
    # Meta's standard messaging window: no DM is sent to a user we last heard from longer
    # ago than this (it fails at once, without a Graph API call).
    messaging_window_seconds: int = 86400
    # Sent to a user once connected, `{count}` replaced by the messages released; unset
    # sends nothing.
    connected_dm_text: str = ""
    send_max_retries: int = 3
    send_backoff_base_seconds: float = 1.0
    send_backoff_cap_seconds: float = 10.0
    graph_timeout_seconds: float = 10.0
    # Sends are paced per account under Meta's rate (100 a second), by a token bucket in
    # Postgres that every worker shares: at most this many a second, in bursts of at most
    # GRAPH_SEND_BURST. 0 turns the pacing off.
    graph_send_rate: float = 80.0
    graph_send_burst: int = 20
    # The account's reads that no DM waits for (senders' profiles, fresh media URLs), paced
    # by a bucket of their own so they never take a send's turn: at most this many a second.
    graph_read_rate: float = 2.0
    # A sender's profile (Meta's User Profile API) is asked for again once older than this:
    # Meta's picture URLs expire within days.
    profile_refresh_seconds: float = 604800.0
    # Reconciliation with the Conversations API (`service.reconcile`): a run this often, and
    # its calls at most this many a second per account, Meta's limit (0: not paced).
    # An interval of 0 turns the scheduled runs off; the other triggers still run.
    reconcile_interval_seconds: float = 900.0
    reconcile_rate: float = 2.0
    # A connected user gets at most one acknowledgement DM per this many seconds (their
    # messages all still reach Phase 3); 0 acknowledges every message.
    ack_cooldown_seconds: float = 0.0
    send_dm_wait_seconds: float = 5.0
    db_pool_min_size: int = 2
    db_pool_max_size: int = 10
    db_pool_timeout_seconds: float = 5.0
    # Jobs a worker runs at once. A message's job spends most of its time waiting on the
    # Graph API (~50 ms), so a worker keeps about 50 sends in flight...
    worker_concurrency: int = 50
    # A job deciding a message takes up to this many of the messages waiting, its own
    # included, and decides and answers them together (`service/messages/batches.py`);
    # 1 decides each message alone.
    decide_batch_size: int = 25
    # Jobs deciding messages a worker runs at once (its other queues have
    # `worker_concurrency`): few, so that a busy deployment's messages wait for a slot and
    # are then decided together, up to DECIDE_BATCH_SIZE at a time.
    decide_concurrency: int = 3
    # ...on a few connections: a job holds one only for its statements, a few ms of it.
    worker_pool_size: int = 10
    # How often a worker looks for jobs whose scheduled time came (retries); new jobs
    # arrive by LISTEN/NOTIFY at once.
    worker_poll_seconds: float = 0.5
    # GET /metrics on web answers only `Authorization: Bearer <this>`; unset, it answers 404.
    metrics_token: str | None = dataclasses.field(default=None, repr=False)
    # The gauges that /metrics reads from the database are computed at most this often.
    metrics_cache_seconds: float = 10.0
    # A worker's own /metrics (prometheus-client's server on HOST); 0 leaves it off.
    worker_metrics_port: int = 0
    # Retention: finished jobs (and their events), and done Phase 3 rows, older than these.
    job_retention_days: float = 7.0
    phase3_retention_days: float = 30.0
    worker_heartbeat_seconds: float = 5.0
    worker_stalled_seconds: float = 20.0
    worker_rescue_interval_seconds: int = 5
    worker_shutdown_seconds: float = 30.0
    worker_database_outage_seconds: float = 120.0
    # Each status query (`ingest status`, /api/internal/status, /metrics) is cancelled
    # after this long; 0 sets no limit.
    status_statement_timeout_seconds: float = 5.0
    # Turns on the operator console at /console (service/console), whose sign-in asks for
    # it; unset, /console answers 404. `ingest dev` makes one up and prints it.
    console_password: str | None = dataclasses.field(default=None, repr=False)
    log_format: str = "auto"
    log_level: str = "INFO"

    @classmethod
    def from_mapping(
        cls,
        env: Mapping[str, str],
        *,
        check: Callable[[Settings], list[str]] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Build settings from `env` (upper-case names); `overrides` (field names, typed
        values) win over `env`. `check` lists what else a process refuses in them; it also
        sees the settings that parsed when others did not, so that one start reports every
        problem."""
        values: dict[str, Any] = {
            name.lower(): raw for name, raw in env.items() if name.isupper() and raw != ""
        }
        values.update(overrides)
        fields, problems = _convert(values)
        if check is not None:
            problems += check(cls(**{"database_url": "", **fields}))
        if problems:
            raise SettingsError(*problems)
        return cls(**fields)

    @classmethod
    def from_env(
        cls, *, check: Callable[[Settings], list[str]] | None = None, **overrides: Any
    ) -> Settings:
        return cls.from_mapping(os.environ, check=check, **overrides)

    def require(self, *names: str) -> Settings:
        """Raise `SettingsError` naming the first of these settings that is unset."""
        for name in names:
            if not getattr(self, name):
                raise SettingsError(f"missing required setting {name.upper()}")
        return self

    def check_webhook_signing(self) -> None:
        """Refuse to serve a webhook that anyone could post to, unless development allows it."""
        if not self.instagram_app_secret and not self.webhook_allow_unsigned:
            raise SettingsError(
                "missing required setting INSTAGRAM_APP_SECRET (it verifies Meta's webhook "
                "signatures; WEBHOOK_ALLOW_UNSIGNED=true is for development only)"
            )

    @property
    def graph_is_sandbox(self) -> bool:
        return self.instagram_api_base_url.startswith(("http://127.", "http://localhost"))


_EXPECTED = {"int": "a number", "float": "a number", "bool": "true or false"}


def _convert(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Each setting converted to its field's type, and a line for each one that is
    missing or malformed, naming it by its environment name."""
    types = typing.get_type_hints(Settings)
    fields: dict[str, Any] = {}
    problems = []
    for field in dataclasses.fields(Settings):
        name = field.name
        if name not in values:
            if field.default is dataclasses.MISSING:
                problems.append(f"missing required setting {name.upper()}")
            continue
        try:
            fields[name] = msgspec.convert(values[name], types[name], strict=False)
        except msgspec.ValidationError:
            kind = getattr(types[name], "__name__", str(types[name]))
            expected = _EXPECTED.get(kind, f"a {kind}")
            problems.append(f"setting {name.upper()} must be {expected}, got {values[name]!r}")
    return fields, problems


# Written by `ingest dev` so that other commands find its embedded database.
DEV_ENV_FILE = Path(".data/dev.env")


def load_dotenv_file(*paths: Path) -> None:
    """Read `.env` (then the dev file, if any) into the environment, never overriding
    what is already set."""
    from dotenv import load_dotenv

    for path in paths or (Path(".env"), DEV_ENV_FILE):
        if path.is_file():
            load_dotenv(path, override=False)
