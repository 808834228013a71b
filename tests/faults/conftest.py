"""The fault tier: real web and worker processes on a Postgres cluster the tests own."""

from __future__ import annotations

import os

import pytest
import schemathesis

from devtools.sandbox import Sandbox
from tests.faults.cluster import OwnedCluster
from tests.faults.harness import HEADERS, FaultStack
from tests.support.pg import ROOT


@pytest.fixture(scope="session")
def cluster():
    owned = OwnedCluster(ROOT / ".data" / f"faults-postgres-{os.getpid()}")
    yield owned
    owned.close()


@pytest.fixture
def faults(cluster: OwnedCluster, sandbox: Sandbox):
    """Build a stack with `faults(**env)`; its processes are closed after the test."""
    stacks: list[FaultStack] = []

    def build(**env: str) -> FaultStack:
        stacks.append(FaultStack(cluster, sandbox, **env))
        return stacks[-1]

    yield build
    for stack in stacks:
        stack.close()


@pytest.fixture(scope="module")
def web(cluster: OwnedCluster, sandbox_server: Sandbox):
    """`ingest web` alone, for the module: with no worker, DMs stay queued, and send-dm
    answers at once (202, pending) instead of waiting for one."""
    stack = FaultStack(cluster, sandbox_server, SEND_DM_WAIT_SECONDS="0")
    stack.start_web()
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def api_schema(web: FaultStack):
    """The OpenAPI schema that `web` serves, loaded by schemathesis."""
    return schemathesis.openapi.from_url(f"{web.web_url}/schema/openapi.json", headers=HEADERS)
