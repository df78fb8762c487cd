"""Fixtures starting the real local stack (see ``stack.py``); every piece is always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.stack import Stack


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
