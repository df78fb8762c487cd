"""Fixtures of the fault suite: one real stack for the session (HAProxy, Prometheus, two apps),
misbehaving servers in front of it, and a state directory per test. Everything is stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults import harness
from tests.faults.server import FaultServer, RuntimeProxy, forward_to
from tests.integration.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("stack")) as s:
        yield s


@pytest.fixture
def prometheus(stack: Stack) -> Iterator[FaultServer]:
    """A server in front of the real Prometheus: forwards until told to misbehave."""
    harness.reset(stack)
    with FaultServer(forward_to(stack.prometheus.url), drip_every=2.0, max_seconds=60) as s:
        yield s
    harness.reset(stack)


@pytest.fixture
def weights(stack: Stack, prometheus: FaultServer) -> Iterator[harness.Weights]:
    """Every canary weight HAProxy reports during the test, with its time."""
    with harness.Weights(stack) as w:
        yield w


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def runtime(stack: Stack) -> Iterator[RuntimeProxy]:
    """A relay in front of HAProxy's TCP runtime API that holds commands on cue."""
    host, _, port = stack.haproxy.admin_address.rpartition(":")
    with RuntimeProxy((host, int(port))) as proxy:
        yield proxy
