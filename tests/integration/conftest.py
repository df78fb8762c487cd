"""Fixtures starting the real local stack (see ``stack.py``); every piece is always stopped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import gate
from tests.integration.stack import Stack
from tests.integration.unleash import UnleashServer, missing


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """A fresh stack for one test: stable and healthy canary apps, HAProxy, Prometheus."""
    with Stack(tmp_path / "stack") as s:
        yield s


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for a module's tests that leave it as they found it."""
    with Stack(tmp_path_factory.mktemp("stack")) as s:
        yield s


@pytest.fixture(scope="session")
def unleash() -> Iterator[UnleashServer]:
    """A real Unleash on PostgreSQL for the whole session. In CI a missing part fails loudly."""
    why = missing()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot start Unleash in CI: {why}")
        pytest.skip(why)
    server = UnleashServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


__all__ = ["gate", "shared_stack", "stack", "unleash"]
