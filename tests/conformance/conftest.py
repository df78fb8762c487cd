"""Shared helpers for the conformance suites: run ``gate check`` in-process and read the
reference material kept under ``tests/conformance/data`` (see data/SOURCES.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from gate.cli import main

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
NOW = "--now=2026-11-22T12:00:00+00:00"


@dataclass
class Run:
    code: int
    out: str
    err: str


GateRunner = Callable[..., Run]


@pytest.fixture
def gate_check(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> GateRunner:
    """``gate check ARGS --now=…`` from the repository root, in-process."""
    monkeypatch.chdir(REPO)

    def run(*args: str) -> Run:
        code = main(["check", *args, NOW])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
