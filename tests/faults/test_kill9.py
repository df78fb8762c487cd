"""kill -9 of the process driving a rollout at each step, on real HAProxy and real Prometheus;
then `gate status` must tell the truth and suggest a command that works, and that command
(`gate resume` or `gate abort`, run as a new process) must end at canary weight 0, or promote
only after a fresh preflight and a full analysis of every stage it runs.

HAProxy's runtime API is reached through a :class:`RuntimeProxy` that can hold a command, so the
driver can be killed exactly between journaling a weight and setting it.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.faults import harness
from tests.faults.server import FaultServer, RuntimeProxy
from tests.integration.stack import Stack

pytestmark = pytest.mark.integration

STAGES: list[dict[str, Any]] = [
    {"weight": 10, "duration": "3s"},
    {"weight": 50, "duration": "3s"},
    {"weight": 100},
]


def _spec(
    stack: Stack, prometheus: FaultServer, runtime: RuntimeProxy, tmp_path: Path, **kw: Any
) -> Path:
    data = harness.spec(
        stack,
        prometheus.url,
        stages=STAGES,
        timeout="30s",
        router_address=runtime.address,
        **kw,
    )
    return harness.write(tmp_path / "rollout.yaml", data)


def _status(state: Path) -> str:
    result = harness.gate(state, "status", harness.NAME)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _killed(driver: harness.Driver) -> None:
    driver.kill()
    assert driver.proc.returncode == -signal.SIGKILL


def _measured_per_stage(state: Path, since: str) -> dict[int, int]:
    """Measurements per stage (1-based) in the audit log after the last ``since`` event."""
    events = harness.audit(state)
    start = max(i for i, e in enumerate(events) if e["event"] == since)
    counts: dict[int, int] = {}
    for e in events[start:]:
        if e["event"] == "measured":
            counts[e["stage"] + 1] = counts.get(e["stage"] + 1, 0) + 1
    return counts


def test_killed_during_preflight_resume_checks_everything_again(
    stack: Stack,
    prometheus: FaultServer,
    runtime: RuntimeProxy,
    weights: harness.Weights,
    state: Path,
    tmp_path: Path,
) -> None:
    marker = tmp_path / "pre-rollout.ran"
    hook = [sys.executable, "-c", f"open({str(marker)!r}, 'a').write('ran\\n')"]
    spec = _spec(
        stack,
        prometheus,
        runtime,
        tmp_path,
        hooks={"pre-rollout": [{"name": "announce", "command": hook}]},
    )
    prometheus.set("hang")  # the preflight query hangs
    driver = harness.Driver(state, "rollout", "rollout", str(spec))
    prometheus.wait_stalled(30)
    assert harness.journal(state)["status"] == "starting"
    _killed(driver)
    assert weights.seen() == [0]

    status = _status(state)
    assert "starting" in status
    assert "gate resume checkout" in status

    # the metrics source is now unreachable: the resumed rollout must not move traffic
    prometheus.set("down")
    refused = harness.gate(state, "resume", harness.NAME, timeout=60)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "cannot connect" in refused.stderr
    assert weights.seen() == [0]
    assert not marker.exists()

    prometheus.set("normal")
    served_before = len(prometheus.requests)
    resumed = harness.Driver(state, "resume", "resume", harness.NAME)
    code = resumed.wait(90)
    assert code == 0, resumed.output()
    # a fresh preflight: Prometheus was asked before the first weight changed
    first_query = prometheus.requests[served_before].at
    first_move = weights.first(10)
    assert first_move is not None
    assert first_query < first_move
    assert weights.seen() == [0, 10, 50, 100]
    # started as a new run is (the killed one never got that far), with a full analysis of
    # every stage: 3 s at 1 s intervals, measured at 1, 2 and 3 s
    assert [e["event"] for e in harness.audit(state)].count("started") == 1
    assert _measured_per_stage(state, "started") == {1: 3, 2: 3}
    # the pre-rollout hook, which the killed process never reached, ran once
    assert marker.read_text() == "ran\n"


@pytest.mark.parametrize("held", ["set server app/canary", "set server app/stable"])
def test_killed_between_journaling_a_weight_and_setting_it(
    stack: Stack,
    prometheus: FaultServer,
    runtime: RuntimeProxy,
    weights: harness.Weights,
    state: Path,
    tmp_path: Path,
    held: str,
) -> None:
    """Held at the first command (nothing changed yet) or at the second (the canary already
    took traffic, stable not yet lowered): status says a weight change was cut short, and
    the abort it suggests ends with stable traffic only."""
    runtime.hold(held)
    driver = harness.Driver(
        state, "rollout", "rollout", str(_spec(stack, prometheus, runtime, tmp_path))
    )
    runtime.wait_held(30)
    journaled = harness.journal(state)
    assert (journaled["status"], journaled["target_weight"]) == ("progressing", 10)
    _killed(driver)
    runtime.release()  # the held command never reaches HAProxy
    expected = (
        {"canary": 0, "stable": 100} if held.endswith("canary") else {"canary": 10, "stable": 100}
    )
    assert harness.weights(stack) == expected

    status = _status(state)
    assert "(moving to 10%)" in status
    assert "stopped during a weight change: run `gate abort checkout`" in status

    aborted = harness.gate(state, "abort", harness.NAME, timeout=60)
    assert aborted.returncode == 1, aborted.stdout + aborted.stderr
    assert harness.weights(stack) == {"canary": 0, "stable": 100}
    journaled = harness.journal(state)
    assert (journaled["status"], journaled["weight"], journaled["target_weight"]) == (
        "aborted",
        0,
        None,
    )
    assert 100 not in weights.seen()


def test_killed_mid_stage_resume_analyses_every_stage_in_full(
    stack: Stack,
    prometheus: FaultServer,
    runtime: RuntimeProxy,
    weights: harness.Weights,
    state: Path,
    tmp_path: Path,
) -> None:
    spec = _spec(stack, prometheus, runtime, tmp_path)
    driver = harness.Driver(state, "rollout", "rollout", str(spec))
    harness.wait_for(
        lambda: any(e["event"] == "measured" for e in harness.audit(state)), 30, "a measurement"
    )
    _killed(driver)
    assert harness.weights(stack) == {"canary": 10, "stable": 90}

    status = _status(state)
    assert "progressing" in status
    assert "canary traffic at 10%: run `gate resume checkout` or `gate abort checkout`" in status

    served_before = len(prometheus.requests)
    resumed_at = len(weights.changes)
    resumed = harness.Driver(state, "resume", "resume", harness.NAME)
    code = resumed.wait(90)
    assert code == 0, resumed.output()
    assert prometheus.requests[served_before].at < weights.changes[resumed_at][0]
    assert weights.seen()[-2:] == [50, 100]
    assert _measured_per_stage(state, "resumed") == {1: 3, 2: 3}


def test_killed_during_rollback_abort_finishes_it(
    stack: Stack,
    prometheus: FaultServer,
    runtime: RuntimeProxy,
    weights: harness.Weights,
    state: Path,
    tmp_path: Path,
) -> None:
    spec = _spec(stack, prometheus, runtime, tmp_path, consecutive_error_limit=0)
    driver = harness.Driver(state, "rollout", "rollout", str(spec))
    harness.wait_for_stage(stack, 10, 30)
    runtime.hold("set server")
    prometheus.set("503")
    runtime.wait_held(30)
    journaled = harness.journal(state)
    assert (journaled["status"], journaled["target_weight"]) == ("rolling-back", 0)
    _killed(driver)
    runtime.release()
    assert harness.weights(stack) == {"canary": 10, "stable": 90}

    status = _status(state)
    assert "rolling-back" in status
    assert "run `gate abort checkout` to set canary traffic to 0" in status

    refused = harness.gate(state, "resume", harness.NAME)
    assert refused.returncode == 2
    assert "gate abort checkout" in refused.stderr
    assert harness.weights(stack) == {"canary": 10, "stable": 90}

    aborted = harness.gate(state, "abort", harness.NAME, timeout=60)
    assert aborted.returncode == 1, aborted.stdout + aborted.stderr
    assert harness.weights(stack) == {"canary": 0, "stable": 100}
    assert harness.journal(state)["status"] == "aborted"
    assert 100 not in weights.seen()
