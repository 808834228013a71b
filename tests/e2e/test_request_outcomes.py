"""What the request log and the HTTP metrics record is what the client got: a refusal
raised before the handler (the console's CSRF check) with its own status, and an upload the
client abandoned apart from the server's errors. Against the app as a real server."""

from __future__ import annotations

import re
import socket

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.support.processes import wait_until
from tests.support.stack import WEBHOOK, Stack, make_env

PASSWORD = "console-password-0123456789"


@pytest.fixture
def web(database_url, sandbox, db):
    env = make_env(database_url=database_url, graph_url=sandbox.url, CONSOLE_PASSWORD=PASSWORD)
    with Stack(env, sandbox, db, worker=False, live_server=True) as stack:
        yield stack.live_server.url


def requests_counted(path: str, status: int, name: str = "ingest_http_requests_total") -> float:
    labels = {"method": "POST", "path": path, "status_code": str(status), "app_name": "ingest"}
    return REGISTRY.get_sample_value(name, labels) or 0.0


def logged(output: str, path: str) -> list[int]:
    """The statuses of the request lines for `path` (structlog's default rendering)."""
    return [
        int(found[1])
        for line in output.splitlines()
        if " request " in line and f" path={path} " in line
        if (found := re.search(r" status=(\d+)", line))
    ]


def test_a_csrf_refusal_is_logged_and_counted_as_the_403_the_client_got(web, capsys):
    path = "/console/dms/requeue"
    before = {status: requests_counted(path, status) for status in (200, 403, 500)}
    with httpx.Client(base_url=web) as client:
        page = client.get("/console/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)[1]
        form = {"_csrf_token": token, "operator": "ada", "password": PASSWORD}
        assert client.post("/console/login", data=form).status_code == 303
        assert client.post(path, data={"outbound_id": "x"}).status_code == 403
    grown = {status: requests_counted(path, status) - n for status, n in before.items()}
    assert grown == {200: 0, 403: 1, 500: 0}
    assert logged(capsys.readouterr().out, path) == [403]


def test_an_abandoned_upload_is_logged_499_and_counted_apart_from_server_errors(web, capsys):
    errors = "ingest_http_requests_error_total"
    before = (
        requests_counted(WEBHOOK, 500),
        requests_counted(WEBHOOK, 500, errors),
        REGISTRY.get_sample_value("ingest_http_aborted_uploads_total") or 0.0,
    )
    host, port = web.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST %s HTTP/1.1\r\nhost: web\r\ncontent-type: application/json\r\n"
            b'content-length: 100000\r\n\r\n{"object": ' % WEBHOOK.encode()
        )
    wait_until(
        lambda: REGISTRY.get_sample_value("ingest_http_aborted_uploads_total") == before[2] + 1,
        what="the abandoned upload to be counted",
    )
    wait_until(lambda: requests_counted(WEBHOOK, 499) > 0, what="its request to be counted")
    assert requests_counted(WEBHOOK, 500) == before[0]
    assert requests_counted(WEBHOOK, 500, errors) == before[1]
    assert logged(capsys.readouterr().out, WEBHOOK) == [499]
