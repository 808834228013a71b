"""Settings: read from a mapping of environment names; a missing or malformed one is
named in one line; secrets stay out of the repr."""

from __future__ import annotations

import dataclasses

import pytest

from service.core.settings import SERVICE_SETTINGS, Settings, SettingsError

BASE = {"DATABASE_URL": "x", "INTERNAL_SERVICE_TOKEN": "x", "INSTAGRAM_ACCESS_TOKEN": "x"}


def test_a_missing_setting_is_named():
    with pytest.raises(SettingsError, match="missing required setting DATABASE_URL"):
        Settings.from_mapping({"INTERNAL_SERVICE_TOKEN": "t"})
    settings = Settings.from_mapping(
        {"DATABASE_URL": "postgresql://x", "INSTAGRAM_ACCESS_TOKEN": "t"}
    )
    with pytest.raises(SettingsError, match="missing required setting INTERNAL_SERVICE_TOKEN"):
        settings.require(*SERVICE_SETTINGS)


def test_an_empty_value_is_unset():
    with pytest.raises(SettingsError, match="^missing required setting DATABASE_URL$"):
        Settings.from_mapping({**BASE, "DATABASE_URL": ""})
    assert Settings.from_mapping({**BASE, "DB_POOL_MAX_SIZE": ""}).db_pool_max_size == 10


def test_a_malformed_number_is_named():
    with pytest.raises(SettingsError, match="SEND_MAX_RETRIES must be a number"):
        Settings.from_mapping({**BASE, "SEND_MAX_RETRIES": "three"})


@pytest.mark.parametrize(
    ("name", "raw"),
    [("DB_POOL_MAX_SIZE", "10.5"), ("WORKER_POLL_SECONDS", "soon"), ("PORT", "80a")],
)
def test_the_one_line_names_the_variable_and_its_value(name, raw):
    with pytest.raises(SettingsError) as caught:
        Settings.from_mapping({**BASE, name: raw})
    assert str(caught.value) == f"setting {name} must be a number, got {raw!r}"


def test_a_malformed_boolean_is_named():
    with pytest.raises(SettingsError, match="WEBHOOK_ALLOW_UNSIGNED must be true or false"):
        Settings.from_mapping({**BASE, "WEBHOOK_ALLOW_UNSIGNED": "maybe"})


@pytest.mark.parametrize(
    ("raw", "value"), [("true", True), ("TRUE", True), ("1", True), ("false", False), ("0", False)]
)
def test_booleans(raw, value):
    assert (
        Settings.from_mapping({**BASE, "WEBHOOK_ALLOW_UNSIGNED": raw}).webhook_allow_unsigned
        is value
    )


def test_strings_become_the_fields_types():
    settings = Settings.from_mapping(
        {
            **BASE,
            "DB_POOL_MAX_SIZE": "20",
            "WORKER_POLL_SECONDS": "0.25",
            "JOB_RETENTION_DAYS": "3",
            "LOG_LEVEL": "DEBUG",
        }
    )
    assert settings.db_pool_max_size == 20 and type(settings.db_pool_max_size) is int
    assert settings.worker_poll_seconds == 0.25
    assert settings.job_retention_days == 3.0 and type(settings.job_retention_days) is float
    assert settings.log_level == "DEBUG"


def test_only_upper_case_names_are_read_and_others_are_ignored():
    settings = Settings.from_mapping({**BASE, "port": "1", "PATH": "/bin", "Port": "2"})
    assert settings.port == 8000


def test_overrides_win_over_the_mapping():
    settings = Settings.from_mapping({**BASE, "PORT": "9000"}, port=9001, database_url="y")
    assert (settings.port, settings.database_url) == (9001, "y")


def test_every_default():
    settings = Settings.from_mapping({"DATABASE_URL": "x"})
    defaults = {
        "internal_service_token": None,
        "instagram_access_token": None,
        "instagram_scoped_id": "me",
        "instagram_api_base_url": "https://graph.instagram.com/v24.0",
        "instagram_webhook_verification_token": None,
        "instagram_app_secret": None,
        "token_encryption_key": None,  # production refuses to start without it
        "token_refresh_days": 10.0,
        "token_cache_seconds": 10.0,
        "token_hold_recheck_seconds": 30.0,
        "webhook_silence_seconds": 21600.0,
        "internal_ingest_url": None,
        "webhook_allow_unsigned": False,
        "forward_max_retries": 12,
        "forward_backoff_base_seconds": 1.0,
        "forward_backoff_cap_seconds": 600.0,
        "webhook_retention_days": 30,
        "verify_url_base": "",  # unset: ingest dev fills in the tunnel, production refuses
        "host": "0.0.0.0",
        "port": 8000,
        "http_header_timeout_seconds": 5.0,
        "http_body_timeout_seconds": 10.0,
        "http_body_min_rate": 50_000,
        "http_keep_alive_seconds": 5,
        "http_max_connections": 500,
        "http_max_bodies_in_flight": 16,
        "verification_resend_seconds": 600,
        "verification_token_ttl_seconds": 3600,
        "release_window_days": 7,
        "messaging_window_seconds": 86400,
        "connected_dm_text": "",
        "send_max_retries": 3,
        "send_backoff_base_seconds": 1.0,
        "send_backoff_cap_seconds": 10.0,
        "graph_timeout_seconds": 10.0,
        "graph_send_rate": 80.0,
        "graph_send_burst": 20,
        "graph_read_rate": 2.0,
        "profile_refresh_seconds": 604800.0,
        "reconcile_interval_seconds": 900.0,
        "reconcile_rate": 2.0,
        "ack_cooldown_seconds": 0.0,
        "send_dm_wait_seconds": 5.0,
        "db_pool_min_size": 2,
        "db_pool_max_size": 10,
        "db_pool_timeout_seconds": 5.0,
        "worker_concurrency": 50,
        "decide_batch_size": 25,
        "decide_concurrency": 3,
        "worker_pool_size": 10,
        "worker_poll_seconds": 0.5,
        "metrics_token": None,
        "metrics_cache_seconds": 10.0,
        "worker_metrics_port": 0,
        "job_retention_days": 7.0,
        "phase3_retention_days": 30.0,
        "worker_heartbeat_seconds": 5.0,
        "worker_stalled_seconds": 20.0,
        "worker_rescue_interval_seconds": 5,
        "worker_shutdown_seconds": 30.0,
        "worker_database_outage_seconds": 120.0,
        "status_statement_timeout_seconds": 5.0,
        "console_password": None,  # unset: no console
        "log_format": "auto",
        "log_level": "INFO",
    }
    assert {name: getattr(settings, name) for name in defaults} == defaults
    assert {f.name for f in dataclasses.fields(Settings)} == {"database_url", *defaults}


def test_secrets_stay_out_of_the_settings_repr():
    settings = Settings.from_mapping(
        {
            "DATABASE_URL": "x",
            "INTERNAL_SERVICE_TOKEN": "s3cret",
            "INSTAGRAM_ACCESS_TOKEN": "acc3ss",
            "INSTAGRAM_APP_SECRET": "app5ecret",
            "INSTAGRAM_WEBHOOK_VERIFICATION_TOKEN": "v3rify",
            "METRICS_TOKEN": "m3trics",
            "CONSOLE_PASSWORD": "c0nsole",
        }
    )
    assert not {"s3cret", "acc3ss", "app5ecret", "v3rify", "m3trics", "c0nsole"} & set(
        repr(settings).replace("'", " ").split()
    )


def test_every_malformed_or_missing_setting_is_reported_at_once_one_line_each():
    with pytest.raises(SettingsError) as caught:
        Settings.from_mapping(
            {"PORT": "80a", "WEBHOOK_ALLOW_UNSIGNED": "maybe", "DB_POOL_MAX_SIZE": "x"}
        )
    assert caught.value.problems == (
        "missing required setting DATABASE_URL",
        "setting WEBHOOK_ALLOW_UNSIGNED must be true or false, got 'maybe'",
        "setting PORT must be a number, got '80a'",
        "setting DB_POOL_MAX_SIZE must be a number, got 'x'",
    )
    assert str(caught.value).splitlines() == list(caught.value.problems)
