"""Production refuses development defaults and placeholder secrets, with one line naming
the setting; `.env.example` holds nothing that it would accept as a secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values

from service.core.production import PRODUCTION_CHECKS, SECRETS
from service.core.settings import DEFAULT_VERIFY_URL_BASE, Settings, SettingsError
from service.instagram.token_cipher import DEV_TOKEN_ENCRYPTION_KEY

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
PRODUCTION = {
    "DATABASE_URL": "postgresql://reeva@db.internal:5432/reeva",
    "INTERNAL_SERVICE_TOKEN": "3f9a0c5e7b1d4f2a8c6e0b9d7f5a3c1e",
    "INSTAGRAM_ACCESS_TOKEN": "IGAAR7x2kQp9LmVt4NsWc8YdFh3JbZo",
    "INSTAGRAM_APP_SECRET": "9b7d5f3a1c8e6b4d2f0a9c7e5b3d1f8a",
    "INSTAGRAM_WEBHOOK_VERIFICATION_TOKEN": "m4Rk2vQ8sT6wY1zA",
    "VERIFY_URL_BASE": "https://app.reeva.example/verify",
    "TOKEN_ENCRYPTION_KEY": "h8b3yXb0c9k2Qf7V4mJt1sLr6pNw5aZe0uGi3dKo9xE=",
}


def check_production(env: dict[str, str]) -> Settings:
    """The settings as `ingest web` reads them at start."""
    return Settings.from_mapping(env, check=PRODUCTION_CHECKS["web"])


def refusal(**changes: str) -> str:
    """The one line `ingest web` refuses these settings with."""
    with pytest.raises(SettingsError) as raised:
        check_production({**PRODUCTION, **changes})
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_production_settings_pass():
    check_production(PRODUCTION)


def test_an_unset_verify_url_base_is_refused():
    assert "VERIFY_URL_BASE" in refusal(VERIFY_URL_BASE="")


@pytest.mark.parametrize(
    "url", ["https://app.reeva.example/verify", "https://reeva.example", DEFAULT_VERIFY_URL_BASE]
)
def test_any_https_verify_url_base_set_explicitly_is_accepted(url):
    check_production({**PRODUCTION, "VERIFY_URL_BASE": url})


@pytest.mark.parametrize(
    "url", ["http://app.reeva.example/verify", "app.reeva.example", "https://"]
)
def test_a_verify_url_base_that_is_not_an_https_url_is_refused(url):
    assert "VERIFY_URL_BASE" in refusal(VERIFY_URL_BASE=url)


def test_a_service_token_under_32_characters_is_refused():
    assert "INTERNAL_SERVICE_TOKEN" in refusal(INTERNAL_SERVICE_TOKEN="x" * 31)
    check_production({**PRODUCTION, "INTERNAL_SERVICE_TOKEN": "x" * 32})


@pytest.mark.parametrize("token", ["your_service_token", "YOUR_SERVICE_TOKEN", " change-me "])
def test_a_placeholder_service_token_is_refused(token):
    assert "INTERNAL_SERVICE_TOKEN" in refusal(INTERNAL_SERVICE_TOKEN=token)


@pytest.mark.parametrize(
    "name, placeholder",
    [
        ("INSTAGRAM_ACCESS_TOKEN", "your_access_token"),
        ("INSTAGRAM_APP_SECRET", "your_app_secret"),
        ("INSTAGRAM_WEBHOOK_VERIFICATION_TOKEN", "your_webhook_token"),
    ],
)
def test_a_placeholder_instagram_secret_is_refused(name, placeholder):
    message = refusal(**{name: placeholder})
    assert name in message and placeholder not in message


def test_unsigned_webhooks_are_refused():
    assert "WEBHOOK_ALLOW_UNSIGNED" in refusal(WEBHOOK_ALLOW_UNSIGNED="true")


def test_a_missing_service_setting_is_named():
    assert refusal(INTERNAL_SERVICE_TOKEN="") == "missing required setting INTERNAL_SERVICE_TOKEN"


@pytest.mark.parametrize("name", [name.upper() for name in SECRETS])
def test_no_secret_of_env_example_passes_in_production(name):
    example = dotenv_values(ENV_EXAMPLE)
    assert name in example
    assert name in refusal(**{name: example[name] or ""})


def test_the_verify_url_base_of_env_example_does_not_pass_in_production():
    example = dotenv_values(ENV_EXAMPLE)
    assert "VERIFY_URL_BASE" in refusal(VERIFY_URL_BASE=example["VERIFY_URL_BASE"] or "")


@pytest.mark.parametrize("token", ["change-me", "short-metrics-token"])
def test_a_weak_metrics_token_is_refused(token):
    assert "METRICS_TOKEN" in refusal(METRICS_TOKEN=token)


def test_a_connected_dm_text_longer_than_a_dm_is_refused():
    assert "CONNECTED_DM_TEXT" in refusal(CONNECTED_DM_TEXT="é" * 499 + " {count}")
    check_production({**PRODUCTION, "CONNECTED_DM_TEXT": "é" * 495})


def test_an_unset_token_encryption_key_is_refused():
    assert refusal(TOKEN_ENCRYPTION_KEY="").startswith(
        "missing required setting TOKEN_ENCRYPTION_KEY"
    )


def test_a_token_encryption_key_that_is_not_a_fernet_key_is_refused():
    assert "must be a Fernet key" in refusal(TOKEN_ENCRYPTION_KEY="not-a-key")


def test_the_dev_token_encryption_key_is_refused():
    assert "`ingest dev` key" in refusal(TOKEN_ENCRYPTION_KEY=DEV_TOKEN_ENCRYPTION_KEY)


def test_a_console_password_under_16_characters_is_refused():
    message = refusal(CONSOLE_PASSWORD="short-password1")
    assert "CONSOLE_PASSWORD" in message and "short-password1" not in message
    check_production({**PRODUCTION, "CONSOLE_PASSWORD": "x" * 16})


def test_a_placeholder_console_password_is_refused():
    assert "CONSOLE_PASSWORD" in refusal(CONSOLE_PASSWORD="change-me")


def test_an_unset_console_password_leaves_the_console_off_and_passes():
    check_production({**PRODUCTION, "CONSOLE_PASSWORD": ""})


def env_example_placeholders() -> dict[str, str]:
    """Every setting `.env.example` gives a `your_...` value."""
    example = dotenv_values(ENV_EXAMPLE)
    return {name: value for name, value in example.items() if (value or "").startswith("your_")}


def test_env_example_has_placeholders_to_refuse():
    assert {"INSTAGRAM_SCOPED_ID", "INTERNAL_SERVICE_TOKEN"} <= set(env_example_placeholders())


@pytest.mark.parametrize("name, placeholder", sorted(env_example_placeholders().items()))
def test_every_placeholder_of_env_example_is_refused(name, placeholder):
    message = refusal(**{name: placeholder})
    assert name in message and "placeholder" in message


def test_a_webhook_verification_token_under_16_characters_is_refused():
    message = refusal(INSTAGRAM_WEBHOOK_VERIFICATION_TOKEN="v")
    assert "INSTAGRAM_WEBHOOK_VERIFICATION_TOKEN" in message and "16" in message
    assert "INSTAGRAM_WEBHOOK_VERIFICATION_TOKEN" in refusal(
        INSTAGRAM_WEBHOOK_VERIFICATION_TOKEN="x" * 15
    )
    check_production({**PRODUCTION, "INSTAGRAM_WEBHOOK_VERIFICATION_TOKEN": "x" * 16})


def test_every_refused_setting_is_reported_at_once_one_line_each():
    env = {
        **PRODUCTION,
        "INTERNAL_SERVICE_TOKEN": "your_service_token",
        "INSTAGRAM_SCOPED_ID": "your_scoped_id",
        "VERIFY_URL_BASE": "",
        "TOKEN_ENCRYPTION_KEY": "",
        "WEBHOOK_ALLOW_UNSIGNED": "true",
    }
    with pytest.raises(SettingsError) as raised:
        check_production(env)
    problems = raised.value.problems
    assert len(problems) == 5 and all("\n" not in line for line in problems)
    for name in (
        "INTERNAL_SERVICE_TOKEN",
        "INSTAGRAM_SCOPED_ID",
        "VERIFY_URL_BASE",
        "TOKEN_ENCRYPTION_KEY",
        "WEBHOOK_ALLOW_UNSIGNED",
    ):
        assert sum(name in line for line in problems) == 1, (name, problems)
