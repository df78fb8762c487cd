"""gate's own metrics, scraped over HTTP, and the append-only audit log."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

from gate.rollout.analysis import Measurement, Outcome
from gate.rollout.events import EventKind, RolloutEvent
from gate.telemetry import Telemetry
from tests.rollout.fakes import FakeMetrics, controller, spec


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_own_metrics_are_served_on_loopback() -> None:
    port = free_port()
    telemetry = Telemetry("checkout", port=port)
    try:
        telemetry(
            RolloutEvent(
                kind=EventKind.STAGE_ADVANCED, rollout="checkout", message="", stage=1, weight=5
            )
        )
        telemetry(
            RolloutEvent(
                kind=EventKind.MEASURED,
                rollout="checkout",
                message="",
                stage=1,
                weight=5,
                measurements=(
                    Measurement("error-rate", Outcome.SUCCESS, 0.01),
                    Measurement("error-rate", Outcome.FAILURE, 0.2),
                ),
            )
        )
        telemetry(
            RolloutEvent(kind=EventKind.ROLLED_BACK, rollout="checkout", message="", weight=0)
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    finally:
        telemetry.close()
    assert 'gate_rollout_weight{rollout="checkout"} 0.0' in text
    assert 'gate_rollout_status{rollout="checkout"} 2.0' in text
    assert (
        'gate_analysis_measurements_total{metric="error-rate",result="failure",'
        'rollout="checkout"} 1.0'
    ) in text


def test_every_decision_and_action_is_in_the_audit_log(tmp_path: Path) -> None:
    c, _ = controller(tmp_path, spec(), FakeMetrics(lambda q, n: 0.01 if n < 5 else 0.3))
    c.run()
    lines = [
        json.loads(x)
        for x in (tmp_path / "state" / "checkout" / "audit.jsonl").read_text().splitlines()
    ]
    events = [x["event"] for x in lines]
    assert events[0] == "started"
    assert events[-4:] == ["analysis-failed", "rolling-back", "traffic-restored", "rolled-back"]
    assert "measured" in events
    assert "weight" in events
    assert all({"time", "rollout", "event", "message"} <= set(x) for x in lines)
