"""`ingest`: the project's command line (migrate, web, worker, dev, phase3, connect,
status, retry-failed, replay, replay-delivery, token, subscribe)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from pathlib import Path

import psycopg
from psycopg_pool import PoolTimeout

from service.core import logs
from service.core.db import check_database_url, describe_unreachable
from service.core.errors import ServiceError
from service.core.production import check_production
from service.core.settings import Settings, SettingsError, load_dotenv_file
from service.operations.thresholds import Thresholds, duration_argument
from service.store.queries import MissingSQL
from service.store.rows import DMKind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ingest", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply the schema migrations and the procrastinate schema")
    web = commands.add_parser("web", help="serve the HTTP API on $PORT")
    web.add_argument("--workers", type=int, default=1, help="web processes")
    worker = commands.add_parser("worker", help="run the job worker")
    worker.add_argument("--concurrency", type=int, default=None)
    dev_command = commands.add_parser("dev", help="everything in one terminal, with local defaults")
    dev_command.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (HOST is not read: default %(default)s)",
    )
    phase3 = commands.add_parser("phase3", help="the reference Phase 3 consumer")
    phase3.add_argument("--once", action="store_true", help="drain what is there, then exit")
    connect = commands.add_parser("connect", help="link an Instagram account to a Reeva user")
    connect.add_argument("ig_id")
    connect.add_argument("--user-id", type=uuid.UUID, default=None)
    _add_operations(commands)
    args = parser.parse_args(argv)
    if args.command == "replay-delivery" and (args.delivery_id is None) == (args.status is None):
        commands.choices["replay-delivery"].error("give a delivery id or --status failed")
    if args.command == "replay-delivery" and args.status is None and (args.since or args.dry_run):
        commands.choices["replay-delivery"].error("--since and --dry-run go with --status")

    settings = None
    if args.command == "token" and args.token_command == "new-key":
        from service.operations import token_view

        return token_view.print_new_key()  # needs no settings
    try:
        if args.command == "dev":
            from ingest import dev

            # Not the dev file: `ingest dev` writes it for the other commands, and the one an
            # earlier run left names a database that run has stopped.
            load_dotenv_file(Path(".env"))
            return dev.main(host=args.host)
        load_dotenv_file()
        settings = Settings.from_env()
        check_database_url(settings.database_url)
        logs.configure(fmt=settings.log_format, level=settings.log_level)
        return _run(args, settings)
    except SettingsError as exc:
        print(f"ingest {args.command}: {exc}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(f"ingest {args.command}: {exc}", file=sys.stderr)
        return 1
    except (psycopg.OperationalError, PoolTimeout) as exc:
        url = settings.database_url if settings else os.environ.get("DATABASE_URL", "")
        reason = describe_unreachable(exc, url)
        print(f"ingest {args.command}: database unreachable: {reason}", file=sys.stderr)
        return 2
    except MissingSQL as exc:  # an install without its SQL files
        print(f"ingest {args.command}: {exc}", file=sys.stderr)
        return 2


def _add_operations(commands) -> None:
    status = commands.add_parser("status", help="jobs, DMs and backlogs; exit 1 if unhealthy")
    status.add_argument("--json", action="store_true", help="one JSON document per report")
    status.add_argument("--watch", action="store_true", help="refresh until interrupted")
    status.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes")
    status.add_argument(
        "--check-remote",
        action="store_true",
        help="read the webhook subscription from the Graph API first",
    )
    Thresholds.add_arguments(status)
    retry = commands.add_parser("retry-failed", help="re-queue failed DMs as new attempts")
    retry.add_argument("--kind", choices=tuple(DMKind))
    retry.add_argument(
        "--since",
        type=duration_argument,
        metavar="DURATION",
        help="failed within this long, e.g. 2h",
    )
    retry.add_argument("--recipient", metavar="IG_ID")
    retry.add_argument(
        "--include-unknown",
        action="store_true",
        help="also those cut off mid-send, whose delivery is unknown (a second copy may reach"
        " the user)",
    )
    retry.add_argument("--error", metavar="TEXT", help="whose error contains TEXT")
    retry.add_argument("--dry-run", action="store_true", help="list them, change nothing")
    retry.add_argument(
        "--batch-size",
        type=_positive_int,
        default=500,
        metavar="N",
        help="DMs re-queued per transaction (default %(default)s)",
    )
    replay = commands.add_parser("replay", help="decide a message again")
    replay.add_argument("mid")
    replay_delivery = commands.add_parser(
        "replay-delivery",
        help="forward a stored webhook delivery again, now; or re-queue every failed one",
    )
    replay_delivery.add_argument("delivery_id", type=int, nargs="?")
    replay_delivery.add_argument(
        "--status", choices=("failed",), help="instead of one id: re-queue every failed delivery"
    )
    replay_delivery.add_argument(
        "--since",
        type=duration_argument,
        metavar="DURATION",
        help="with --status: failed within this long, e.g. 2h",
    )
    replay_delivery.add_argument(
        "--dry-run", action="store_true", help="with --status: count them, change nothing"
    )
    token = commands.add_parser("token", help="the stored Graph API access token")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    token_status = token_commands.add_parser(
        "status", help="age, expiry, last refresh and its outcome"
    )
    token_status.add_argument("--json", action="store_true")
    token_commands.add_parser(
        "set", help="store a new token, read from stdin or a prompt (never an argument)"
    )
    token_commands.add_parser("new-key", help="print a new TOKEN_ENCRYPTION_KEY")
    commands.add_parser(
        "subscribe", help="subscribe the account to the webhook fields the service reads"
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return value


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "migrate":
        from service.core.migrate import migrate

        migrate(settings.database_url)
    elif args.command == "web":
        from service.http.serve import serve

        check_production(settings)
        serve(settings, workers=args.workers)
    elif args.command == "worker":
        from workers.main import run

        check_production(settings)
        return asyncio.run(run(settings, concurrency=args.concurrency))
    elif args.command == "phase3":
        from service.phase3.consumer import run as run_phase3

        asyncio.run(run_phase3(settings, once=args.once))
    elif args.command == "connect":
        from service.operations.accounts import connect

        connected = asyncio.run(connect(settings, args.ig_id, args.user_id or uuid.uuid4()))
        released = connected.released_messages
        print(
            f"{connected.ig_id} connected to user {connected.user_id}; "
            f"{released} earlier message{'' if released == 1 else 's'} released to Phase 3"
        )
    elif args.command == "status":
        from service.operations import status_view

        try:
            return asyncio.run(
                status_view.run(
                    settings,
                    Thresholds.from_options(vars(args)),
                    as_json=args.json,
                    watch=args.watch,
                    interval=args.interval,
                    check_remote=args.check_remote,
                )
            )
        except psycopg.errors.QueryCanceled:
            limit = settings.status_statement_timeout_seconds
            print(
                f"ingest status: a status query ran past STATUS_STATEMENT_TIMEOUT_SECONDS"
                f" ({limit:g} s)",
                file=sys.stderr,
            )
            return 2
    elif args.command == "retry-failed":
        from service.operations import requeue_view

        return asyncio.run(
            requeue_view.retry_failed(
                settings,
                kind=args.kind,
                recipient=args.recipient,
                since_seconds=args.since,
                include_unknown=args.include_unknown,
                error=args.error,
                dry_run=args.dry_run,
                batch_size=args.batch_size,
            )
        )
    elif args.command == "replay":
        from service.operations import requeue_view

        return asyncio.run(requeue_view.replay(settings, args.mid))
    elif args.command == "replay-delivery" and args.status:
        return _replay_failed(settings, since_seconds=args.since, dry_run=args.dry_run)
    elif args.command == "replay-delivery":
        return _replay(settings, args.delivery_id)
    elif args.command in ("token", "subscribe"):
        return _token(args, settings)
    return 0


def _token(args: argparse.Namespace, settings: Settings) -> int:
    from service.operations import token_view

    if args.command == "subscribe":
        return asyncio.run(token_view.subscribe(settings))
    if args.token_command == "set":
        return asyncio.run(token_view.set_token(settings, token_view.read_token()))
    return asyncio.run(token_view.status(settings, as_json=args.json))


def _replay(settings: Settings, delivery_id: int) -> int:
    from service.webhooks.forward import replay_delivery

    result = asyncio.run(replay_delivery(settings, delivery_id))
    if result is None:
        print(f"no webhook delivery {delivery_id}", file=sys.stderr)
        return 1
    delivery = result.delivery
    print(
        f"delivery {delivery.id}: {delivery.status}, "
        f"{delivery.messages_forwarded} messages forwarded"
        + (f"; error: {delivery.last_error}" if delivery.last_error else "")
    )
    return 0 if delivery.status == "forwarded" else 1


def _replay_failed(settings: Settings, *, since_seconds: float | None, dry_run: bool) -> int:
    from service.webhooks.recovery import replay_failed

    ids = asyncio.run(replay_failed(settings, since_seconds=since_seconds, dry_run=dry_run))
    noun = "delivery" if len(ids) == 1 else "deliveries"
    verb = "would be re-queued (dry run)" if dry_run else "re-queued"
    print(f"{len(ids)} failed {noun} {verb}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
