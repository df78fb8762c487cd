"""``gate rollout`` on real HAProxy and real Prometheus, with a misbehaving server between gate
and Prometheus: under every fault no canary is promoted, no run ends in exit 3, and each ends
with canary weight 0 read back from HAProxy (exit 1, or 130 when interrupted) or a loud exit 4.

Times asserted here are generous bounds; the measured figures are in benchmarks/faults.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.faults import harness
from tests.faults.server import FaultServer, RuntimeProxy
from tests.integration.stack import Stack

pytestmark = pytest.mark.integration


def assert_rolled_back(code: int, output: str, stack: Stack, state: Path, seen: list[int]) -> None:
    assert code == 1, output
    assert "Traceback" not in output
    assert 100 not in seen, seen
    assert harness.weights(stack) == {"canary": 0, "stable": 100}
    journaled = harness.journal(state)
    assert (journaled["status"], journaled["weight"], journaled["target_weight"]) == (
        "rolled-back",
        0,
        None,
    ), journaled
    events = [e["event"] for e in harness.audit(state)]
    assert "rolling-back" in events
    assert "rolled-back" in events
    assert "promoted" not in events
    assert not (state.parent / "crash").exists() or not list((state.parent / "crash").iterdir())


def test_a_healthy_prometheus_behind_the_proxy_promotes(
    stack: Stack, prometheus: FaultServer, weights: harness.Weights, state: Path, tmp_path: Path
) -> None:
    """The control: without a fault the same rollout is promoted, so the faults below are what
    stop it."""
    spec = harness.write(tmp_path / "rollout.yaml", harness.spec(stack, prometheus.url))
    result = harness.gate(state, "rollout", str(spec), timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert weights.seen()[-1] == 100
    assert harness.journal(state)["status"] == "promoted"
    harness.reset(stack)


FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("down", {}),
    ("429", {}),
    ("429", {"then_retry_after": "3600"}),
    ("503", {}),
    ("503", {"then_retry_after": "3600"}),
    ("malformed", {}),
    ("null-value", {}),
    ("deep", {}),
    ("huge", {}),
    ("huge-stream", {}),
    ("drip", {}),
    ("hang-headers", {}),
    ("hang", {}),
    ("html", {}),
    ("echo-500", {}),
]


@pytest.mark.parametrize(
    ("mode", "how"), FAULTS, ids=[m + ("-retry-after" if h else "") for m, h in FAULTS]
)
def test_a_fault_after_one_good_answer_never_promotes(
    stack: Stack,
    prometheus: FaultServer,
    weights: harness.Weights,
    state: Path,
    tmp_path: Path,
    mode: str,
    how: dict[str, str],
) -> None:
    """Preflight and the stage's first measurement are answered; then the fault. The stage is
    2 s long, so a stage that ended on time would promote: it must not end on an answer that
    was not a success, and the errors in a row roll it back."""
    prometheus.set("normal", after=2, then=mode, **how)
    spec = harness.write(tmp_path / "rollout.yaml", harness.spec(stack, prometheus.url))
    began = time.monotonic()
    result = harness.gate(state, "rollout", str(spec), timeout=90)
    output = result.stdout + result.stderr
    assert_rolled_back(result.returncode, output, stack, state, weights.seen())
    measured = [e for e in harness.audit(state) if e["event"] == "measured"]
    assert "success" in measured[0]["message"]
    assert all("error" in e["message"] for e in measured[1:]), measured
    assert len(measured) == 1 + 3  # consecutiveErrorLimit 2: the third error in a row fails
    assert "errors in a row" in output
    assert time.monotonic() - began < 60


def test_a_dripping_prometheus_at_start_moves_no_traffic(
    stack: Stack, prometheus: FaultServer, weights: harness.Weights, state: Path, tmp_path: Path
) -> None:
    prometheus.set("drip")
    spec = harness.write(tmp_path / "rollout.yaml", harness.spec(stack, prometheus.url))
    began = time.monotonic()
    result = harness.gate(state, "rollout", str(spec), timeout=60)
    seconds = time.monotonic() - began
    assert result.returncode == 2, result.stdout + result.stderr
    assert "timed out" in result.stderr
    assert weights.seen() == [0]
    assert harness.journal(state)["status"] == "failed-to-start"
    assert seconds < 20  # the metrics deadline is 1 s


def _hung(stack: Stack, prometheus: FaultServer, state: Path, tmp_path: Path) -> harness.Driver:
    """A rollout whose stage query hangs (a 30 s deadline), with traffic on the canary."""
    prometheus.set("normal", after=1, then="hang")
    spec = harness.write(
        tmp_path / "rollout.yaml",
        harness.spec(
            stack,
            prometheus.url,
            stages=[{"weight": 10, "duration": "60s"}, {"weight": 100}],
            timeout="30s",
        ),
    )
    driver = harness.Driver(state, "rollout", "rollout", str(spec))
    try:
        prometheus.wait_stalled(30)
        harness.wait_for_stage(stack, 10, 10)
    except BaseException:
        driver.kill()
        raise
    return driver


def test_sigterm_during_a_hung_query_rolls_back_at_once(
    stack: Stack, prometheus: FaultServer, weights: harness.Weights, state: Path, tmp_path: Path
) -> None:
    driver = _hung(stack, prometheus, state, tmp_path)
    sent = driver.signal(signal.SIGTERM)
    try:
        code = driver.wait(60)
    finally:
        driver.kill()
    at_zero = weights.first(0, after=sent)
    assert at_zero is not None
    assert code == 130, driver.output()
    assert harness.weights(stack) == {"canary": 0, "stable": 100}
    assert at_zero - sent < 10
    assert driver.ended is not None
    assert driver.ended - sent < 10
    journaled = harness.journal(state)
    assert (journaled["status"], journaled["weight"]) == ("rolled-back", 0)
    assert "interrupted" in journaled["reason"]


def test_gate_abort_during_a_hung_query_rolls_back_at_once(
    stack: Stack, prometheus: FaultServer, weights: harness.Weights, state: Path, tmp_path: Path
) -> None:
    driver = _hung(stack, prometheus, state, tmp_path)
    try:
        began = time.monotonic()
        aborted = harness.gate(state, "abort", harness.NAME, "--reason", "INC-7: hung metrics")
        ended = time.monotonic()
        code = driver.wait(60)
    finally:
        driver.kill()
    at_zero = weights.first(0, after=began)
    assert at_zero is not None
    assert aborted.returncode == 1, aborted.stdout + aborted.stderr
    assert code == 1, driver.output()
    assert at_zero - began < 10
    assert ended - began < 10
    assert driver.ended is not None
    assert driver.ended - began < 10
    journaled = harness.journal(state)
    assert (journaled["status"], journaled["weight"]) == ("rolled-back", 0)
    assert "INC-7: hung metrics" in journaled["reason"]


def flag_service(enabled: dict[str, bool]) -> Any:
    """A handler for the webhook flag provider's shape: GET reads, POST sets."""
    import json
    from urllib.parse import parse_qs, urlsplit

    from tests.faults.server import Answer, Request

    def handler(request: Request) -> Answer:
        if request.method == "POST":
            body = json.loads(request.body)
            enabled[body["feature"]] = body["enabled"]
            return Answer(200, b"{}")
        feature = parse_qs(urlsplit(request.path).query)["feature"][0]
        return Answer(200, json.dumps({"enabled": enabled.get(feature, True)}).encode())

    return handler


def test_a_dripping_kill_switch_during_rollback_is_loud_and_bounded(
    stack: Stack, prometheus: FaultServer, weights: harness.Weights, state: Path, tmp_path: Path
) -> None:
    """Traffic goes back to stable first; the kill switch that drips is given its deadline,
    then named in a loud exit 4."""
    enabled = {"new-checkout": True}
    with FaultServer(flag_service(enabled), drip_every=2.0, max_seconds=60) as flags:
        flags.set("normal", after=1, then="drip")  # the preflight probe is answered
        prometheus.set("normal", after=1, then="503")
        spec = harness.write(
            tmp_path / "rollout.yaml",
            harness.spec(
                stack,
                prometheus.url,
                consecutive_error_limit=0,
                flags=[{"provider": "webhook", "url": flags.url, "feature": "new-checkout"}],
            ),
        )
        driver = harness.Driver(state, "rollout", "rollout", str(spec))
        try:
            code = driver.wait(90)
        finally:
            driver.kill()
    output = driver.output()
    assert code == 4, output
    assert "Traceback" not in output
    assert "new-checkout" in driver.stderr
    assert "still ON" in driver.stderr
    assert 100 not in weights.seen()
    assert harness.weights(stack) == {"canary": 0, "stable": 100}
    journaled = harness.journal(state)
    assert journaled["status"] == "rollback-failed"
    assert journaled["weight"] == 0
    assert any("new-checkout" in f for f in journaled["flags_still_on"])
    started = next(e for e in harness.audit(state) if e["event"] == "rolling-back")
    assert started
    assert driver.ended is not None
    assert driver.ended - driver.started < 60


def test_a_router_that_stops_answering_during_rollback_is_loud_then_abort_restores(
    stack: Stack,
    prometheus: FaultServer,
    runtime: RuntimeProxy,
    weights: harness.Weights,
    state: Path,
    tmp_path: Path,
) -> None:
    """HAProxy's runtime API stops answering `set server` just as the rollback begins: every
    attempt runs into its deadline, the run ends in exit 4 saying traffic may still reach the
    canary, and `gate abort`, once HAProxy answers again, puts it back on stable."""
    prometheus.set("normal", after=1, then="503")
    spec = harness.write(
        tmp_path / "rollout.yaml",
        harness.spec(
            stack,
            prometheus.url,
            consecutive_error_limit=0,
            router_address=runtime.address,
            router_timeout="500ms",
        ),
    )
    driver = harness.Driver(state, "rollout", "rollout", str(spec))
    try:
        harness.wait_for_stage(stack, 10, 30)
        runtime.hold("set server")
        code = driver.wait(90)
    finally:
        driver.kill()
    assert code == 4, driver.output()
    assert "Traceback" not in driver.output()
    assert "canary traffic could NOT be set to 0 after 5 attempts" in driver.stderr
    assert harness.weights(stack) == {"canary": 10, "stable": 90}
    journaled = harness.journal(state)
    assert (journaled["status"], journaled["target_weight"]) == ("rollback-failed", 0)
    retries = [e for e in harness.audit(state) if e["event"] == "rollback-retry"]
    assert len(retries) == 5
    status = harness.gate(state, "status", harness.NAME)
    assert "a human must act" in status.stdout

    runtime.release()
    aborted = harness.gate(state, "abort", harness.NAME, timeout=60)
    assert aborted.returncode == 1, aborted.stdout + aborted.stderr
    assert harness.weights(stack) == {"canary": 0, "stable": 100}
    assert harness.journal(state)["status"] == "aborted"
    assert 100 not in weights.seen()
