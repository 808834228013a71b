"""`ingest`: the project's command line (migrate, web, worker, dev, phase3, connect,
status, retry-failed, replay, replay-delivery, token, subscribe, account, reconcile).

Each command's parser is configured here and bound to its handler in `ingest.handlers`
with `set_defaults(func=...)`; `main` reads the settings once and maps the errors every
command shares to one line and an exit code.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import uuid
from typing import TypeAlias

import psycopg
from psycopg_pool import PoolTimeout

from ingest import handlers
from service.core import logs
from service.core.db import check_database_url, describe_unreachable
from service.core.errors import ServiceError
from service.core.production import PRODUCTION_CHECKS
from service.core.settings import Settings, SettingsError, load_dotenv_file
from service.operations.thresholds import Thresholds, duration_argument
from service.store.queries import MissingSQL
from service.store.rows import DMKind

# What `add_subparsers` returns: where each command's parser is added (generic to the type
# checker only).
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.check is not None:
        args.check(args)
    settings = None
    try:
        if not args.needs_settings:
            return args.func(args)
        load_dotenv_file()
        settings = Settings.from_env(check=PRODUCTION_CHECKS.get(args.command))
        check_database_url(settings.database_url)
        logs.configure(fmt=settings.log_format, level=settings.log_level)
        return args.func(args, settings)
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"ingest {args.command}: {problem}", file=sys.stderr)
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


def parser() -> argparse.ArgumentParser:
    """The parser of every command, each bound to its handler."""
    root = argparse.ArgumentParser(prog="ingest", description=__doc__.split("\n\n")[0])
    root.set_defaults(needs_settings=True, check=None)
    commands = root.add_subparsers(dest="command", required=True)
    _add_processes(commands)
    _add_operations(commands)
    _add_token(commands)
    _add_account(commands)
    _add_reconcile(commands)
    return root


def _add_processes(commands: Commands) -> None:
    commands.add_parser(
        "migrate", help="apply the schema migrations and the procrastinate schema"
    ).set_defaults(func=handlers.migrate)
    web = commands.add_parser("web", help="serve the HTTP API on $PORT")
    web.add_argument("--workers", type=int, default=1, help="web processes")
    web.set_defaults(func=handlers.web)
    worker = commands.add_parser("worker", help="run the job worker")
    worker.add_argument("--concurrency", type=int, default=None)
    worker.set_defaults(func=handlers.worker)
    dev = commands.add_parser("dev", help="everything in one terminal, with local defaults")
    dev.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (HOST is not read: default %(default)s)",
    )
    # It writes its own settings: none are read before it starts.
    dev.set_defaults(func=handlers.dev, needs_settings=False)
    phase3 = commands.add_parser("phase3", help="the reference Phase 3 consumer")
    phase3.add_argument("--once", action="store_true", help="drain what is there, then exit")
    phase3.set_defaults(func=handlers.phase3)
    connect = commands.add_parser("connect", help="link an Instagram account to a Reeva user")
    connect.add_argument("ig_id")
    connect.add_argument("--user-id", type=uuid.UUID, default=None)
    connect.set_defaults(func=handlers.connect)


def _add_operations(commands: Commands) -> None:
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
    status.set_defaults(func=handlers.status)
    retry = commands.add_parser("retry-failed", help="re-queue failed DMs as new attempts")
    retry.add_argument("--kind", choices=tuple(DMKind))
    retry.add_argument(
        "--since",
        type=duration_argument,
        metavar="DURATION",
        help="failed within this long, e.g. 2h",
    )
    retry.add_argument("--recipient", metavar="IG_ID")
    retry.add_argument("--account", metavar="IG_ID", help="sent from this account")
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
    retry.set_defaults(func=handlers.retry_failed)
    replay = commands.add_parser("replay", help="decide a message again")
    replay.add_argument("mid")
    replay.set_defaults(func=handlers.replay)
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
    replay_delivery.set_defaults(
        func=handlers.replay_delivery,
        check=functools.partial(_check_replay_delivery, replay_delivery),
    )


def _add_token(commands: Commands) -> None:
    token = commands.add_parser("token", help="the stored Graph API access token")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    token_status = token_commands.add_parser(
        "status", help="age, expiry, last refresh and its outcome"
    )
    token_status.add_argument("--json", action="store_true")
    token_status.add_argument("--account", help=_ACCOUNT_HELP)
    token_status.set_defaults(func=handlers.token_status)
    token_set = token_commands.add_parser(
        "set", help="store a new token, read from stdin or a prompt (never an argument)"
    )
    token_set.add_argument("--account", help=_ACCOUNT_HELP)
    token_set.set_defaults(func=handlers.token_set)
    token_commands.add_parser("new-key", help="print a new TOKEN_ENCRYPTION_KEY").set_defaults(
        func=handlers.new_key, needs_settings=False
    )
    subscribe = commands.add_parser(
        "subscribe", help="subscribe the account to the webhook fields the service reads"
    )
    subscribe.add_argument("--account", help=_ACCOUNT_HELP)
    subscribe.set_defaults(func=handlers.subscribe)


_ACCOUNT_HELP = "the account's id (default: the environment's, INSTAGRAM_SCOPED_ID)"


def _add_account(commands: Commands) -> None:
    account = commands.add_parser("account", help="the Instagram accounts the service answers")
    account_commands = account.add_subparsers(dest="account_command", required=True)
    add = account_commands.add_parser(
        "add", help="add an account: its token read from stdin or a prompt (never an argument)"
    )
    add.add_argument("ig_id", help="the account's user_id (the webhook's entry id)")
    add.set_defaults(func=handlers.account_add)
    listed = account_commands.add_parser("list", help="every account: token, subscription")
    listed.add_argument("--json", action="store_true")
    listed.set_defaults(func=handlers.account_list)
    remove = account_commands.add_parser("remove", help="stop answering an account")
    remove.add_argument("ig_id")
    remove.set_defaults(func=handlers.account_remove)


def _add_reconcile(commands: Commands) -> None:
    reconcile = commands.add_parser(
        "reconcile",
        help="recover the messages Meta never delivered, from the Conversations API",
    )
    # Read by the handler, not argparse: a malformed one is one line, like the other refusals.
    reconcile.add_argument(
        "--since",
        metavar="DURATION",
        help="conversations changed within this long, e.g. 36h or 3d (default: since the"
        " last completed run, or 36h)",
    )
    reconcile.add_argument(
        "--account", metavar="IG_ID", help="one account (default: every account answered)"
    )
    reconcile.set_defaults(func=handlers.reconcile)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return value


def _check_replay_delivery(command: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if (args.delivery_id is None) == (args.status is None):
        command.error("give a delivery id or --status failed")
    if args.status is None and (args.since or args.dry_run):
        command.error("--since and --dry-run go with --status")


if __name__ == "__main__":
    sys.exit(main())
