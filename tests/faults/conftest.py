"""The fault tier: real web and worker processes on a Postgres cluster the tests own."""

from __future__ import annotations

import os

import pytest

from devtools.sandbox import Sandbox
from tests.faults.cluster import OwnedCluster
from tests.faults.harness import FaultStack
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
