"""The one place that maps outcomes to exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.cli.errors import run_guarded
from gate.errors import ConfigError, ConfigErrors, RollbackError


def boom() -> int:
    raise RuntimeError("unexpected")


def test_internal_error_is_exit_3_with_the_traceback_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATE_CRASH_DIR", str(tmp_path))
    assert run_guarded(boom) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    [saved] = tmp_path.glob("gate-crash-*.log")
    assert f"traceback saved to {saved}" in err
    assert "RuntimeError: unexpected" in saved.read_text()


def raise_(exc: BaseException) -> None:
    raise exc


@pytest.mark.parametrize(
    ("exc", "code", "line"),
    [
        (
            ConfigError("bad", file="f.yaml", line=3, field="a.b"),
            2,
            "gate: error: f.yaml:3: a.b: bad",
        ),
        (RollbackError("canary still has traffic"), 4, "gate: error: canary still has traffic"),
        (KeyboardInterrupt(), 130, "gate: interrupted"),
    ],
)
def test_known_outcomes(
    exc: BaseException, code: int, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_guarded(lambda: raise_(exc)) == code
    assert capsys.readouterr().err == line + "\n"


def test_several_config_errors_each_on_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    errs = ConfigErrors([ConfigError("x", file="a", line=1), ConfigError("y", file="b", line=2)])
    assert run_guarded(lambda: raise_(errs)) == 2
    assert capsys.readouterr().err == "gate: error: a:1: x\ngate: error: b:2: y\n"
