"""`ingest`: the project's command line (migrate, web, worker, dev, phase3, connect)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid

from service import logs
from service.settings import Settings, SettingsError, load_dotenv_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ingest", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply sql/migrations and the procrastinate schema")
    web = commands.add_parser("web", help="serve the HTTP API on $PORT")
    web.add_argument("--workers", type=int, default=1, help="web processes")
    worker = commands.add_parser("worker", help="run the job worker")
    worker.add_argument("--concurrency", type=int, default=None)
    commands.add_parser("dev", help="everything in one terminal, with local defaults")
    phase3 = commands.add_parser("phase3", help="the reference Phase 3 consumer")
    phase3.add_argument("--once", action="store_true", help="drain what is there, then exit")
    connect = commands.add_parser("connect", help="link an Instagram account to a Reeva user")
    connect.add_argument("ig_id")
    connect.add_argument("--user-id", type=uuid.UUID, default=None)
    args = parser.parse_args(argv)

    load_dotenv_file()
    if args.command == "dev":
        from service import dev

        return dev.main()
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"ingest {args.command}: {exc}", file=sys.stderr)
        return 2
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    return _run(args, settings)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "migrate":
        from service.migrate import migrate

        migrate(settings.database_url)
    elif args.command == "web":
        from service.http.serve import serve

        serve(settings, workers=args.workers)
    elif args.command == "worker":
        from workers.main import run

        return asyncio.run(run(settings, concurrency=args.concurrency))
    elif args.command == "phase3":
        from service.phase3_consumer import run

        asyncio.run(run(settings, once=args.once))
    elif args.command == "connect":
        from service.accounts import connect

        profile = asyncio.run(connect(settings, args.ig_id, args.user_id or uuid.uuid4()))
        print(f"{profile.ig_id} connected to user {profile.connected_user_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
