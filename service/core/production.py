"""What production requires beyond settings that parse: no placeholder secret and no
development default.

`ingest web` and `ingest worker` check their settings so at start (`PRODUCTION_CHECKS`),
reporting every refused setting at once, one line each; `ingest dev` does not, since it
fills in exactly these defaults (a fixed TOKEN_ENCRYPTION_KEY among them, which
production refuses). The placeholders are the spec's and those of `.env.example` (a test
holds the two together), so a copied template never runs as is.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from service.core.db import check_database_url
from service.core.settings import SERVICE_SETTINGS, WORKER_SETTINGS, Settings, SettingsError
from service.instagram.client import MAX_TEXT_BYTES, text_fits
from service.instagram.token_cipher import DEV_TOKEN_ENCRYPTION_KEY, is_valid_key

# What web cannot run without in production, beyond what every process needs: the
# webhook's signing secret and the verify token of Meta's handshake.
WEB_SETTINGS = (
    *SERVICE_SETTINGS,
    "instagram_app_secret",
    "instagram_webhook_verification_token",
)
# The settings that are secrets: none may keep a placeholder.
SECRETS = (
    "internal_service_token",
    "instagram_access_token",
    "instagram_app_secret",
    "instagram_webhook_verification_token",
    "token_encryption_key",
)
# Secrets that may be unset (their feature off), but never a placeholder when set.
OPTIONAL_SECRETS = ("metrics_token", "console_password")
# Every placeholder of `.env.example` (a test holds the two together), and common others.
PLACEHOLDERS = frozenset(
    {
        "your_service_token",
        "your_access_token",
        "your_scoped_id",
        "your_app_secret",
        "your_webhook_token",
        "change-me",
        "changeme",
    }
)
# Long enough that guessing it is hopeless: `openssl rand -hex 32` gives 64 characters.
MIN_SERVICE_TOKEN_CHARS = 32
# Anyone may try verify tokens against the webhook's handshake: too short, it is guessed.
MIN_VERIFY_TOKEN_CHARS = 16
# `{count}` in CONNECTED_DM_TEXT filled in with as many digits as a count may have.
LARGEST_COUNT = "999999"
# The console's password is typed by people, yet guarded only by the sign-in's rate limit.
MIN_CONSOLE_PASSWORD_CHARS = 16
# The least length of a secret that people may try to guess, and how to make one.
MIN_LENGTHS = {
    "internal_service_token": (MIN_SERVICE_TOKEN_CHARS, "e.g. `openssl rand -hex 32`"),
    "metrics_token": (MIN_SERVICE_TOKEN_CHARS, "e.g. `openssl rand -hex 32`"),
    "instagram_webhook_verification_token": (MIN_VERIFY_TOKEN_CHARS, "e.g. `openssl rand -hex 16`"),
    "console_password": (
        MIN_CONSOLE_PASSWORD_CHARS,
        "e.g. `openssl rand -base64 24`, or unset to turn the console off",
    ),
}


def production_problems(settings: Settings, required: tuple[str, ...]) -> list[str]:
    """A line naming each setting that production refuses, `required` ones missing among them."""
    problems = [
        f"missing required setting {name.upper()}"
        for name in required
        if not getattr(settings, name)
    ]
    problems += _secrets(settings)
    if not text_fits(settings.connected_dm_text.replace("{count}", LARGEST_COUNT)):
        problems.append(f"setting CONNECTED_DM_TEXT is longer than a DM's {MAX_TEXT_BYTES} bytes")
    problems += _verify_url_base(settings.verify_url_base)
    problems += _token_key(settings.token_encryption_key)
    if settings.webhook_allow_unsigned:
        problems.append("setting WEBHOOK_ALLOW_UNSIGNED=true is for `ingest dev` only")
    try:
        check_database_url(settings.database_url)
    except SettingsError as exc:
        problems += exc.problems
    return problems


# The checks of `ingest web` and `ingest worker`, by command (`Settings.from_mapping`'s
# `check`): each process also names what it alone requires.
PRODUCTION_CHECKS: dict[str, Callable[[Settings], list[str]]] = {
    "web": lambda settings: production_problems(settings, WEB_SETTINGS),
    "worker": lambda settings: production_problems(settings, WORKER_SETTINGS),
}


def _secrets(settings: Settings) -> list[str]:
    """One line for each secret set to a placeholder or too short to hold against
    guessing; unset ones are `required`'s (or their feature is off)."""
    problems = []
    for name in SECRETS + OPTIONAL_SECRETS:
        value = getattr(settings, name)
        least, how = MIN_LENGTHS.get(name, (0, ""))
        if value is not None and value.strip().lower() in PLACEHOLDERS:
            problems.append(
                f"setting {name.upper()} is a placeholder from .env.example: set the real secret"
            )
        elif value is not None and len(value) < least:
            problems.append(f"setting {name.upper()} must be at least {least} characters ({how})")
    if settings.instagram_scoped_id.strip().lower() in PLACEHOLDERS:
        problems.append(
            "setting INSTAGRAM_SCOPED_ID is a placeholder from .env.example: set the "
            "account's id (or `me`)"
        )
    return problems


def _verify_url_base(url: str) -> list[str]:
    if not url:
        return [
            "missing required setting VERIFY_URL_BASE (the link of the verification DM; "
            "the spec's tunnel is a default of `ingest dev` only)"
        ]
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return ["setting VERIFY_URL_BASE must be an https:// URL"]
    return []


def _token_key(key: str | None) -> list[str]:
    """Production keeps its access token in Postgres, so it needs a key of its own: the
    token renews itself only when stored (`service.business_account.access_token`)."""
    if not key:
        return [
            "missing required setting TOKEN_ENCRYPTION_KEY (it encrypts the stored access "
            "token; `ingest token new-key` prints one)"
        ]
    if not is_valid_key(key):
        return ["setting TOKEN_ENCRYPTION_KEY must be a Fernet key (`ingest token new-key`)"]
    if key == DEV_TOKEN_ENCRYPTION_KEY:
        return ["setting TOKEN_ENCRYPTION_KEY is the `ingest dev` key: set one of your own"]
    return []
