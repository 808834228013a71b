"""`ingest dev`: the whole service in one terminal, with local defaults for what is unset.

No DATABASE_URL: an embedded Postgres under `.data/`. No INSTAGRAM_ACCESS_TOKEN: the
loopback Graph API sandbox, which records the DMs instead of sending them. No
INTERNAL_SERVICE_TOKEN: `your_service_token`, the token of the product's curl examples, so
they work as written.
No INSTAGRAM_APP_SECRET: the webhook accepts unsigned posts (WEBHOOK_ALLOW_UNSIGNED), with
a warning at start and on every such post; set the secret to test signatures.
The web server listens on 127.0.0.1:3000, as those examples expect: loopback whatever HOST
says (a `.env` copied from `.env.example` gives production's 0.0.0.0), unless `--host` asks
for another address. No VERIFY_URL_BASE: the verification DM's link opens a page served
here (`devtools/verify_page.py`) that connects the account to a development user, so the
whole path (message, link, connected, earlier messages saved, next message acknowledged) can
be followed without Reeva's web app. A secret that still holds its `.env.example`
placeholder counts as unset, with a warning, so a copied template gives the sandbox rather
than calls to Instagram with a placeholder token. No CONSOLE_PASSWORD: one made up for this
run, printed with the console's address.

Stopped with Ctrl-C (SIGINT) or SIGTERM, it stops what it started: the web server, the
worker, the sandbox and the embedded Postgres. A Postgres that an earlier run left running
(one killed with SIGKILL) is reused, and stopped at the end like one started afresh
(`devtools/embedded_db.py` says why and when not). The next run starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys

import structlog
import uvicorn

from devtools import embedded_db, verify_page
from devtools.sandbox import Sandbox
from service.core import logs
from service.core.db import check_database_url
from service.core.production import OPTIONAL_SECRETS, PLACEHOLDERS, SECRETS
from service.core.settings import DEV_ENV_FILE, Settings
from service.http.app import create_app
from service.http.serve import server_options
from service.instagram.token_cipher import DEV_TOKEN_ENCRYPTION_KEY
from service.store.migrate import migrate
from workers import main as worker_main

log = structlog.get_logger("dev")
DEV_SERVICE_TOKEN = "your_service_token"


def main(*, host: str = "127.0.0.1") -> int:
    # SIGTERM unwinds like Ctrl-C, so that what was started is stopped (by default Python
    # dies at once, leaving the embedded Postgres running).
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        with contextlib.ExitStack() as started:
            return _run(started, host)
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except embedded_db.NotInstalled as exc:
        print(f"ingest dev: DATABASE_URL is not set and {exc}", file=sys.stderr)
        return 2


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def drop_placeholders(env: dict[str, str]) -> list[str]:
    """Remove from `env` the secrets that hold a placeholder; returns their names."""
    names = [name.upper() for name in SECRETS + OPTIONAL_SECRETS]
    dropped = [name for name in names if env.get(name, "").strip().lower() in PLACEHOLDERS]
    for name in dropped:
        del env[name]
    return dropped


def _run(started: contextlib.ExitStack, host: str) -> int:
    env = dict(os.environ)
    logs.configure(fmt=env.get("LOG_FORMAT", "console"), level=env.get("LOG_LEVEL", "INFO"))
    for name in drop_placeholders(env):
        log.warning("placeholder from .env.example treated as unset", setting=name)
    env.setdefault("PORT", "3000")
    env["HOST"] = host
    if not env.get("VERIFY_URL_BASE"):
        # As a browser on this machine reaches it, whatever address the server binds.
        page_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        env["VERIFY_URL_BASE"] = f"http://{page_host}:{env['PORT']}{verify_page.PATH}"
        log.warning(
            "VERIFY_URL_BASE is not set: verification links open the development page,"
            " which connects the account to a development user",
            verify_url_base=env["VERIFY_URL_BASE"],
            user_id=str(verify_page.DEV_USER_ID),
        )
    if env.get("DATABASE_URL"):
        check_database_url(env["DATABASE_URL"])
    else:
        env["DATABASE_URL"] = started.enter_context(embedded_db.serving())
        # Other `ingest` commands run in this folder (connect, status, token) read it from
        # here.
        DEV_ENV_FILE.write_text(
            f"DATABASE_URL={env['DATABASE_URL']}\n"
            f"TOKEN_ENCRYPTION_KEY={env.get('TOKEN_ENCRYPTION_KEY') or DEV_TOKEN_ENCRYPTION_KEY}\n"
        )
        log.warning(
            "DATABASE_URL is not set: using the embedded Postgres in .data/postgres",
            database_url=env["DATABASE_URL"],
        )
    if not env.get("TOKEN_ENCRYPTION_KEY"):
        # A fixed key, so the token stored by one run is read by the next (and by the other
        # `ingest` commands); production refuses it.
        env["TOKEN_ENCRYPTION_KEY"] = DEV_TOKEN_ENCRYPTION_KEY
    if not env.get("INTERNAL_SERVICE_TOKEN"):
        env["INTERNAL_SERVICE_TOKEN"] = DEV_SERVICE_TOKEN
        log.warning("INTERNAL_SERVICE_TOKEN is not set: using the example token your_service_token")
    if not env.get("INSTAGRAM_APP_SECRET"):
        env.setdefault("WEBHOOK_ALLOW_UNSIGNED", "true")
        log.warning(
            "INSTAGRAM_APP_SECRET is not set: the webhook ACCEPTS UNSIGNED POSTS "
            "(development only; production refuses to start without it)"
        )
    env.setdefault(
        "INTERNAL_INGEST_URL", f"http://127.0.0.1:{env['PORT']}/api/internal/ingest-event"
    )
    if not env.get("INSTAGRAM_ACCESS_TOKEN"):
        sandbox = Sandbox()
        sandbox.start()
        started.callback(sandbox.stop)
        env.update(
            INSTAGRAM_ACCESS_TOKEN="sandbox-token",
            INSTAGRAM_SCOPED_ID="sandbox",
            INSTAGRAM_API_BASE_URL=sandbox.url,
        )
        log.warning(
            "INSTAGRAM_ACCESS_TOKEN is not set: DMs go to the local Graph API "
            "sandbox and are NOT sent to Instagram",
            sandbox=sandbox.url,
            see_dms=f"{sandbox.url}/_sandbox/messages",
        )
    if not env.get("CONSOLE_PASSWORD"):
        env["CONSOLE_PASSWORD"] = secrets.token_urlsafe(12)
    settings = Settings.from_mapping(env)
    migrate(settings.database_url)
    asyncio.run(_serve(settings))
    return 0


async def _serve(settings: Settings) -> None:
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, development=True, extra_handlers=[verify_page.VerifyPage]),
            **server_options(settings),
        )
    )
    worker = asyncio.create_task(worker_main.run(settings, install_signal_handlers=False))
    base = f"http://{settings.host}:{settings.port}"
    log.info("ready", api=f"{base}/api/internal", docs=f"{base}/schema", console=f"{base}/console")
    # On the terminal, not in the log: a password has no place in log files, even this one.
    # Where the DMs went, too, on a line of its own rather than inside a long warning.
    sandbox = (
        f"  DMs (Graph API sandbox, not sent to Instagram): "
        f"{settings.instagram_api_base_url}/_sandbox/messages\n"
        if settings.graph_is_sandbox
        else ""
    )
    print(
        f"\n  Operator console: {base}/console\n"
        f"  Sign in with any name and the password {settings.console_password}\n"
        f"{sandbox}",
        file=sys.stderr,
        flush=True,
    )
    try:
        await server.serve()
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
