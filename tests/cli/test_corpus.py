"""The broken-input corpus (tests/broken_inputs/corpus, written by its generate.py): every file
is refused with exit 2 and the same ``FILE:LINE: field: problem`` lines by ``gate validate`` and
by the run that would use it — ``gate check`` for change requests and policies, ``gate rollout
--dry-run`` for rollout specs — never a traceback, never a hang, each within seconds."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import REPO, Result

CORPUS = Path("tests/broken_inputs/corpus")
FILES = sorted(
    str(p.relative_to(REPO))
    for p in (REPO / CORPUS).glob("*/*")
    if p.parent.name != "__pycache__" and p.suffix in (".yaml", ".json")
)


def test_the_corpus_has_at_least_200_files() -> None:
    assert len(FILES) >= 200


def the_run(path: str, state: Path) -> list[str]:
    kind = Path(path).parent.name
    if kind == "policy":
        return ["check", "--change", "examples/change-pass.yaml", "--policy", path]
    if kind == "rollout":
        return ["rollout", "--dry-run", path, "--state-dir", str(state)]
    return ["check", "--change", path]


def refused(r: Result) -> list[str]:
    assert r.code == 2, (r.code, r.out, r.err)
    assert "Traceback" not in r.err
    assert "internal error" not in r.err
    lines = r.err.splitlines()
    assert lines
    assert all(line.startswith("gate: error: ") for line in lines), r.err
    return lines


@pytest.mark.parametrize("path", FILES)
def test_validate_and_the_run_refuse_it_word_for_word(
    gate: Callable[..., Result], path: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    validated = refused(gate("validate", path))
    ran = refused(gate(*the_run(path, tmp_path)))
    assert ran == validated
    assert all(line.startswith(f"gate: error: {path}:") for line in ran), ran
    assert time.monotonic() - began < 5
    assert not (tmp_path / "checkout").exists()  # nothing was journaled, nothing moved


def run_gate(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """gate as a separate process, so a hang is caught by the timeout."""
    return subprocess.run(
        [sys.executable, "-m", "gate", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.mark.slow
def test_special_files_are_refused_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "change.yaml"
    os.mkfifo(fifo)
    for target in (str(fifo), "/dev/zero", "/dev/stdin"):
        began = time.monotonic()
        r = run_gate("check", "--change", target, timeout=10)
        assert r.returncode == 2, r.stderr
        assert "not a regular file" in r.stderr
        assert time.monotonic() - began < 5


@pytest.mark.slow
def test_a_huge_file_is_refused_quickly(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("".join(f"k{i}: {i}\n" for i in range(300_000)))
    assert big.stat().st_size > 2_500_000
    began = time.monotonic()
    r = run_gate("validate", str(big))
    assert r.returncode == 2, r.stderr
    assert time.monotonic() - began < 5, r.stderr


@pytest.mark.slow
def test_an_unreadable_policy_directory(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every directory")
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "p.yaml").write_text("kind: Policy\n")
    policies.chmod(0)
    try:
        r = run_gate("check", "--change", "examples/change-pass.yaml", "--policy", str(policies))
        assert r.returncode == 2
        assert "permission denied" in r.stderr
    finally:
        policies.chmod(stat.S_IRWXU)
