"""One handler per `ingest` command: each is given its parsed arguments and the settings,
and returns the command's exit code (`ingest.cli` binds them to their parsers). Each
imports what it runs, so that a command loads only its own part of the service."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from pathlib import Path

import psycopg

from service.core.settings import Settings, load_dotenv_file
from service.operations.thresholds import Thresholds


def dev(args: argparse.Namespace) -> int:
    from ingest import dev as dev_command

    # Not the dev file: `ingest dev` writes it for the other commands, and the one an
    # earlier run left names a database that run has stopped.
    load_dotenv_file(Path(".env"))
    return dev_command.main(host=args.host)


def new_key(args: argparse.Namespace) -> int:
    from service.operations import token_view

    return token_view.print_new_key()


def migrate(args: argparse.Namespace, settings: Settings) -> int:
    from service.store.migrate import migrate as apply_migrations

    apply_migrations(settings.database_url)
    return 0


def web(args: argparse.Namespace, settings: Settings) -> int:
    from service.http.serve import serve

    serve(settings, workers=args.workers)
    return 0


def worker(args: argparse.Namespace, settings: Settings) -> int:
    import uvloop

    from workers.main import run

    # A job's time is mostly socket and protocol work (`bench/RESULTS.md`): on uvloop's
    # event loop, as the web processes run on it through uvicorn.
    return uvloop.run(run(settings, concurrency=args.concurrency))


def phase3(args: argparse.Namespace, settings: Settings) -> int:
    from service.phase3.consumer import run

    asyncio.run(run(settings, once=args.once))
    return 0


def connect(args: argparse.Namespace, settings: Settings) -> int:
    from service.operations.accounts import connect as connect_account

    connected = asyncio.run(connect_account(settings, args.ig_id, args.user_id or uuid.uuid4()))
    released = connected.released_messages
    print(
        f"{connected.ig_id} connected to user {connected.user_id}; "
        f"{released} earlier message{'' if released == 1 else 's'} released to Phase 3"
    )
    return 0


def status(args: argparse.Namespace, settings: Settings) -> int:
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


def retry_failed(args: argparse.Namespace, settings: Settings) -> int:
    from service.operations import requeue_view

    return asyncio.run(
        requeue_view.retry_failed(
            settings,
            kind=args.kind,
            recipient=args.recipient,
            since_seconds=args.since,
            include_unknown=args.include_unknown,
            error=args.error,
            account=args.account,
            dry_run=args.dry_run,
            batch_size=args.batch_size,
        )
    )


def replay(args: argparse.Namespace, settings: Settings) -> int:
    from service.operations import requeue_view

    return asyncio.run(requeue_view.replay(settings, args.mid))


def replay_delivery(args: argparse.Namespace, settings: Settings) -> int:
    if args.status:
        return _replay_failed_deliveries(settings, since_seconds=args.since, dry_run=args.dry_run)
    from service.webhooks.forward import replay_delivery as replay_one

    result = asyncio.run(replay_one(settings, args.delivery_id))
    if result is None:
        print(f"no webhook delivery {args.delivery_id}", file=sys.stderr)
        return 1
    delivery = result.delivery
    print(
        f"delivery {delivery.id}: {delivery.status}, "
        f"{delivery.messages_forwarded} messages forwarded"
        + (f"; error: {delivery.last_error}" if delivery.last_error else "")
    )
    return 0 if delivery.status == "forwarded" else 1


def _replay_failed_deliveries(
    settings: Settings, *, since_seconds: float | None, dry_run: bool
) -> int:
    from service.webhooks.recovery import replay_failed

    ids = asyncio.run(replay_failed(settings, since_seconds=since_seconds, dry_run=dry_run))
    noun = "delivery" if len(ids) == 1 else "deliveries"
    verb = "would be re-queued (dry run)" if dry_run else "re-queued"
    print(f"{len(ids)} failed {noun} {verb}")
    return 0


def token_status(args: argparse.Namespace, settings: Settings) -> int:
    from service.operations import token_view

    return asyncio.run(token_view.status(settings, as_json=args.json, account=args.account))


def token_set(args: argparse.Namespace, settings: Settings) -> int:
    from service.operations import token_view

    return asyncio.run(token_view.set_token(settings, token_view.read_token(), args.account))


def subscribe(args: argparse.Namespace, settings: Settings) -> int:
    from service.operations import token_view

    return asyncio.run(token_view.subscribe(settings, args.account))


def account_add(args: argparse.Namespace, settings: Settings) -> int:
    from service.operations import accounts_view, token_view

    return asyncio.run(accounts_view.add(settings, args.ig_id, token_view.read_token()))


def account_list(args: argparse.Namespace, settings: Settings) -> int:
    from service.operations import accounts_view

    return asyncio.run(accounts_view.list_accounts(settings, as_json=args.json))


def account_remove(args: argparse.Namespace, settings: Settings) -> int:
    from service.operations import accounts_view

    return asyncio.run(accounts_view.remove(settings, args.ig_id))


def reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from service.operations import reconcile_view

    return asyncio.run(
        reconcile_view.reconcile(settings, since=args.since, account_id=args.account)
    )
