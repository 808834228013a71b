"""What production requires beyond settings that parse: no placeholder secret and no
development default.

`ingest web` and `ingest worker` call `check_production` at start; `ingest dev` does not,
since it fills in exactly these defaults (a fixed TOKEN_ENCRYPTION_KEY among them, which
production refuses). The placeholders are the spec's and those of
`.env.example` (a test holds the two together), so a copied template never runs as is.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from service.core.settings import SERVICE_SETTINGS, Settings, SettingsError
from service.instagram.client import MAX_TEXT_BYTES, text_fits
from service.instagram.token_cipher import DEV_TOKEN_ENCRYPTION_KEY, is_valid_key

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
PLACEHOLDERS = frozenset(
    {
        "your_service_token",
        "your_access_token",
        "your_app_secret",
        "your_webhook_token",
        "change-me",
        "changeme",
    }
)
# Long enough that guessing it is hopeless: `openssl rand -hex 32` gives 64 characters.
MIN_SERVICE_TOKEN_CHARS = 32
# The bearer tokens checked against that length.
BEARER_TOKENS = ("internal_service_token", "metrics_token")
# `{count}` in CONNECTED_DM_TEXT filled in with as many digits as a count may have.
LARGEST_COUNT = "999999"
# The console's password is typed by people, yet guarded only by the sign-in's rate limit.
MIN_CONSOLE_PASSWORD_CHARS = 16


def check_production(settings: Settings) -> None:
    """Raise `SettingsError`, one line naming the setting, for the first one that only
    development may have."""
    settings.require(*SERVICE_SETTINGS)
    for name in SECRETS + OPTIONAL_SECRETS:
        value = getattr(settings, name)
        if value is not None and value.strip().lower() in PLACEHOLDERS:
            raise SettingsError(
                f"setting {name.upper()} is a placeholder from .env.example: set the real secret"
            )
    for name in BEARER_TOKENS:
        value = getattr(settings, name)
        # The service token is required above; the metrics token is checked when set.
        if value is not None and len(value) < MIN_SERVICE_TOKEN_CHARS:
            raise SettingsError(
                f"setting {name.upper()} must be at least {MIN_SERVICE_TOKEN_CHARS} "
                "characters (e.g. `openssl rand -hex 32`)"
            )
    if not text_fits(settings.connected_dm_text.replace("{count}", LARGEST_COUNT)):
        raise SettingsError(
            f"setting CONNECTED_DM_TEXT is longer than a DM's {MAX_TEXT_BYTES} bytes"
        )
    _check_console_password(settings.console_password)
    if not settings.verify_url_base:
        raise SettingsError(
            "missing required setting VERIFY_URL_BASE (the link of the verification DM; "
            "the spec's tunnel is a default of `ingest dev` only)"
        )
    url = urlsplit(settings.verify_url_base)
    if url.scheme != "https" or not url.hostname:
        raise SettingsError("setting VERIFY_URL_BASE must be an https:// URL")
    _check_token_key(settings.token_encryption_key)
    if settings.webhook_allow_unsigned:
        raise SettingsError("setting WEBHOOK_ALLOW_UNSIGNED=true is for `ingest dev` only")


def _check_token_key(key: str | None) -> None:
    """Production keeps its access token in Postgres, so it needs a key of its own: the
    token renews itself only when stored (`service.business_account.access_token`)."""
    if not key:
        raise SettingsError(
            "missing required setting TOKEN_ENCRYPTION_KEY (it encrypts the stored access "
            "token; `ingest token new-key` prints one)"
        )
    if not is_valid_key(key):
        raise SettingsError(
            "setting TOKEN_ENCRYPTION_KEY must be a Fernet key (`ingest token new-key`)"
        )
    if key == DEV_TOKEN_ENCRYPTION_KEY:
        raise SettingsError(
            "setting TOKEN_ENCRYPTION_KEY is the `ingest dev` key: set one of your own"
        )


def _check_console_password(password: str | None) -> None:
    """Unset turns the console off; set, it must be hard to guess (and no placeholder,
    which OPTIONAL_SECRETS checks)."""
    if password is not None and len(password) < MIN_CONSOLE_PASSWORD_CHARS:
        raise SettingsError(
            f"setting CONSOLE_PASSWORD must be at least {MIN_CONSOLE_PASSWORD_CHARS} "
            "characters (e.g. `openssl rand -base64 24`), or unset to turn the console off"
        )
