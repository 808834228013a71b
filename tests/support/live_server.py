"""The app as a real uvicorn server on a free loopback port, in a thread of the test process.

The webhook job reaches the ingest endpoint over real HTTP (as in production), which the
in-process test client cannot offer. The socket is bound before the app is built, so the
URL is known in advance and no other process can take the port in between.
"""

from __future__ import annotations

import socket
import threading

import uvicorn
from litestar import Litestar


class LiveServer:
    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def start(self, app: Litestar, *, wait_until) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )
        self.thread.start()
        wait_until(
            lambda: self.server.started or not self.thread.is_alive(),
            timeout=30,
            what="the live server to start",
        )
        if not self.server.started:
            raise AssertionError("the live server did not start")

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(timeout=30)
        self.socket.close()
