"""`ingest web`: serve the app with uvicorn, one or several processes.

uvicorn rather than granian: both were measured against stalled clients (docs/operations.md,
"The front door"); neither closes a stalled body, and uvicorn's protocol takes the few
missing limits as a small subclass (`service.http.protocol`).
"""

from __future__ import annotations

from typing import Any

import uvicorn
from litestar import Litestar

from service.core import logs
from service.core.db import check_reachable
from service.core.settings import Settings
from service.http.app import check_settings, create_app
from service.http.protocol import Door, Limits


def app_from_env() -> Litestar:
    """The factory that each uvicorn worker process calls when there are several."""
    settings = Settings.from_env()
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    return create_app(settings)


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options, as `ingest web` and `ingest dev` serve: the front door's limits."""
    return dict(
        host=settings.host,
        port=settings.port,
        http=Door(Limits.from_settings(settings)),
        timeout_keep_alive=settings.http_keep_alive_seconds,
        log_config=None,
        access_log=False,
    )


def serve(settings: Settings, *, workers: int = 1) -> None:
    # Checked here too, so that several worker processes do not each fail the same way.
    check_settings(settings)
    check_reachable(settings.database_url)
    options = server_options(settings) | dict(lifespan="on", timeout_graceful_shutdown=20)
    if workers > 1:
        uvicorn.run("service.http.serve:app_from_env", factory=True, workers=workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)
