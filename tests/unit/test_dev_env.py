"""`ingest dev` reads a `.env` copied from `.env.example` as if its placeholder secrets were
unset, so it falls back to the sandbox and the development token instead of using them."""

from __future__ import annotations

from pathlib import Path

from dotenv import dotenv_values

from ingest.dev import drop_placeholders

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_the_placeholders_of_env_example_count_as_unset():
    env = {name: value or "" for name, value in dotenv_values(ENV_EXAMPLE).items()}
    dropped = drop_placeholders(env)
    assert {"INSTAGRAM_ACCESS_TOKEN", "INSTAGRAM_APP_SECRET", "INTERNAL_SERVICE_TOKEN"} <= set(
        dropped
    )
    assert not set(dropped) & set(env)


def test_real_secrets_are_kept():
    env = {"INSTAGRAM_ACCESS_TOKEN": "IGAAR7x2kQp9LmVt4NsWc8YdFh3JbZo", "PORT": "3000"}
    assert drop_placeholders(env) == []
    assert env["INSTAGRAM_ACCESS_TOKEN"] == "IGAAR7x2kQp9LmVt4NsWc8YdFh3JbZo"
