"""gate's own Prometheus metrics carry the delivery report's figures."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from gate.rollout.journal import Journal
from gate.telemetry import Telemetry
from tests.rollout.fakes import FakeMetrics, controller, spec


def samples(telemetry: Telemetry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client import generate_latest

    text = generate_latest(telemetry.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_rolled_back_rollout_records_its_detect_and_restore_times(tmp_path: Path) -> None:
    telemetry = Telemetry("checkout", interval=10.0)
    c, _ = controller(tmp_path, spec(), FakeMetrics(lambda q, n: 0.01 if n < 5 else 0.3))
    c.emit = telemetry
    c.run()
    got = samples(telemetry)
    rollout = (("rollout", "checkout"),)
    assert got[("gate_rollouts_total", (("result", "rolled-back"), ("rollout", "checkout")))] == 1
    assert got[("gate_rollout_time_to_detect_seconds_count", rollout)] == 1
    # the failing measurement's 10 s window, plus the moments to decide
    assert 10.0 <= got[("gate_rollout_time_to_detect_seconds_sum", rollout)] < 11.0
    assert got[("gate_rollout_time_to_restore_seconds_count", rollout)] == 1
    assert 0.0 <= got[("gate_rollout_time_to_restore_seconds_sum", rollout)] < 1.0
    le_5 = (("le", "5.0"), ("rollout", "checkout"))
    assert got[("gate_rollout_time_to_detect_seconds_bucket", le_5)] == 0


def test_a_promoted_rollout_counts_as_promoted_with_no_detect_time(tmp_path: Path) -> None:
    telemetry = Telemetry("checkout", interval=10.0)
    c, _ = controller(tmp_path, spec(), FakeMetrics(lambda q, n: 0.01))
    c.emit = telemetry
    c.run()
    got = samples(telemetry)
    assert got[("gate_rollouts_total", (("result", "promoted"), ("rollout", "checkout")))] == 1
    assert ("gate_rollout_time_to_detect_seconds_count", (("rollout", "checkout"),)) not in got


def test_an_abort_by_hand_is_not_a_detection(tmp_path: Path) -> None:
    telemetry = Telemetry("checkout", interval=10.0)
    journal = Journal(tmp_path / "state", "checkout")

    def healthy_until_someone_aborts(query: str, n: int) -> float:
        if n == 3:  # `gate abort checkout` from another terminal, mid-stage
            journal.request("abort", "INC-12")
        return 0.01

    c, _ = controller(tmp_path, spec(), FakeMetrics(healthy_until_someone_aborts))
    c.emit = telemetry
    assert c.run().status == "rolled-back"
    got = samples(telemetry)
    assert ("gate_rollout_time_to_detect_seconds_count", (("rollout", "checkout"),)) not in got
    assert got[("gate_rollout_time_to_restore_seconds_count", (("rollout", "checkout"),))] == 1
