"""``gate rollout`` end to end on the real stack: HAProxy, Prometheus, two app versions, load.

gate runs as a child process (``python -m gate``); HAProxy's weights are watched from outside
with a :class:`WeightRecorder`. Stage durations are seconds.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.gate_process import Background, gate_env, run_gate
from tests.integration.stack import Stack, WeightRecorder, rollout_spec, write_spec

pytestmark = pytest.mark.integration


def _env(state: Path) -> dict[str, str]:
    return gate_env(GATE_STATE_DIR=str(state))


def gate(state: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return run_gate(_env(state), *args, timeout=timeout)


@pytest.fixture
def recorder(stack: Stack) -> Iterator[WeightRecorder]:
    rec = WeightRecorder(stack.haproxy).start()
    yield rec
    rec.stop()


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def _wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _spec(stack: Stack, tmp_path: Path, **kw: Any) -> Path:
    return write_spec(tmp_path / "rollout.yaml", rollout_spec(stack, **kw))


def _warm_up(stack: Stack, rps: float = 50, seconds: float = 60) -> None:
    stack.load(rps=rps, seconds=seconds)
    time.sleep(2)


def test_healthy_canary_is_promoted_stage_by_stage(
    stack: Stack, recorder: WeightRecorder, state: Path, tmp_path: Path
) -> None:
    _warm_up(stack)
    result = gate(state, "rollout", str(_spec(stack, tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert recorder.canary_weights() == [0, 10, 50, 100]
    assert stack.haproxy.weights() == {"canary": 100, "stable": 0}
    assert stack.canary.requests.labels("canary", "200")._value.get() > 0


def test_canary_with_errors_is_rolled_back(
    stack: Stack, recorder: WeightRecorder, state: Path, tmp_path: Path
) -> None:
    stack.canary.set_mode("errors")
    _warm_up(stack)
    result = gate(state, "rollout", str(_spec(stack, tmp_path)))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert stack.haproxy.weights() == {"canary": 0, "stable": 100}
    assert recorder.canary_weights() == [0, 10, 0]
    assert "error-rate" in output


def test_slow_canary_is_rolled_back_on_latency(
    stack: Stack, recorder: WeightRecorder, state: Path, tmp_path: Path
) -> None:
    stack.canary.set_mode("slow")
    _warm_up(stack)
    result = gate(state, "rollout", str(_spec(stack, tmp_path)))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert stack.haproxy.weights() == {"canary": 0, "stable": 100}
    assert 100 not in recorder.canary_weights()
    assert "p95-latency" in output


def test_prometheus_down_mid_rollout_rolls_back_never_promotes(
    stack: Stack, recorder: WeightRecorder, state: Path, tmp_path: Path
) -> None:
    _warm_up(stack)
    spec = _spec(
        stack,
        tmp_path,
        stages=[{"weight": 10, "duration": "60s"}, {"weight": 100}],
        consecutive_error_limit=2,
    )
    run = Background(_env(state), tmp_path / "gate.log", "rollout", str(spec))
    try:
        _wait_for(lambda: 10 in recorder.canary_weights(), 30, "the first stage")
        time.sleep(2)
        stack.prometheus.stop()
        code = run.wait(60)
    finally:
        run.kill()
    output = run.output()
    assert code == 1, output
    assert stack.haproxy.weights() == {"canary": 0, "stable": 100}
    assert 100 not in recorder.canary_weights()
    assert "prometheus" in output.lower()


def test_sigkill_mid_stage_then_status_resume_and_abort(
    stack: Stack, recorder: WeightRecorder, state: Path, tmp_path: Path
) -> None:
    _warm_up(stack, seconds=90)
    spec = _spec(
        stack,
        tmp_path,
        stages=[
            {"weight": 10, "duration": "6s"},
            {"weight": 50, "duration": "30s"},
            {"weight": 100},
        ],
    )
    first = Background(_env(state), tmp_path / "first.log", "rollout", str(spec))
    try:
        _wait_for(lambda: 10 in recorder.canary_weights(), 30, "the first stage")
        time.sleep(1)
    finally:
        first.kill()
    assert stack.haproxy.weights() == {"canary": 10, "stable": 90}

    status = gate(state, "status", "checkout")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "checkout" in status.stdout
    assert "10" in status.stdout

    resumed = Background(_env(state), tmp_path / "resume.log", "resume", "checkout")
    try:
        _wait_for(lambda: 50 in recorder.canary_weights(), 30, "the resumed rollout's next stage")
        time.sleep(1)
    finally:
        resumed.kill()
    # resumed from the journaled stage: no restart from zero in between
    assert recorder.canary_weights() == [0, 10, 50]

    aborted = gate(state, "abort", "checkout")
    assert aborted.returncode in (0, 1), aborted.stdout + aborted.stderr
    assert stack.haproxy.weights() == {"canary": 0, "stable": 100}
    after = gate(state, "status", "checkout")
    assert "abort" in (after.stdout + after.stderr).lower()


def test_no_traffic_on_the_canary_is_never_a_silent_promotion(
    stack: Stack, recorder: WeightRecorder, state: Path, tmp_path: Path
) -> None:
    # no load at all: every canary query is empty or NaN
    spec = _spec(
        stack,
        tmp_path,
        stages=[{"weight": 10, "duration": "3s"}, {"weight": 100}],
        inconclusive_limit=2,
    )
    run = Background(_env(state), tmp_path / "gate.log", "rollout", str(spec))
    try:
        code = run.wait(30)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        run.kill()
    output = run.output()
    assert 100 not in recorder.canary_weights(), output
    assert code != 0, output
    assert "inconclusive" in output.lower() or "no data" in output.lower()
