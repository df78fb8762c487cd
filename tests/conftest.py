"""Shared fixtures. Guardrails: no test touches the real home directory or state directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GATE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("GATE_CRASH_DIR", str(tmp_path / "crash"))
    for var in (
        "GITHUB_ACTIONS",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_OUTPUT",
        "GITHUB_WORKSPACE",
        "NO_COLOR",
        "GITHUB_TOKEN",
        "UNLEASH_TOKEN",
        "LD_API_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)
    from gate.secrets import forget_all

    forget_all()  # secrets remembered by an earlier test are not this test's
