"""What the controller journals for the delivery report, read back through the Journal API."""

from __future__ import annotations

from pathlib import Path

from gate.rollout.journal import Journal
from tests.rollout.fakes import FakeMetrics, controller, spec


def test_a_failed_analysis_journals_its_measurements_decision_and_restored_traffic(
    tmp_path: Path,
) -> None:
    c, _ = controller(tmp_path, spec(), FakeMetrics(lambda q, n: 0.01 if n < 5 else 0.3))
    c.run()
    records = Journal(tmp_path / "state", "checkout").events()
    kinds = [r["event"] for r in records]
    assert kinds.index("analysis-failed") < kinds.index("rolling-back")
    assert kinds.index("rolling-back") < kinds.index("traffic-restored")
    restored = records[kinds.index("traffic-restored")]
    assert restored["weight"] == 0
    measured = [r for r in records if r["event"] == "measured"]
    first, last = measured[0]["measurements"][0], measured[-1]["measurements"][0]
    assert first["metric"] == "error-rate"
    assert first["outcome"] == "success"
    assert first["value"] == 0.01
    assert first["evidence"] == 0.01 / 0.05  # share of the max it fails at
    assert last["outcome"] == "failure"
    assert last["evidence"] == 0.3 / 0.05


def test_a_sequential_judge_journals_its_evidence_against_its_threshold(tmp_path: Path) -> None:
    metric = {
        "name": "errors",
        "judge": "sequential",
        "canaryErrors": "ce",
        "canaryRequests": "cr",
        "baselineErrors": "be",
        "baselineRequests": "br",
    }
    counts = {"ce": 30.0, "cr": 100.0, "be": 10.0, "br": 900.0}
    c, _ = controller(
        tmp_path, spec(analysis__metrics=[metric]), FakeMetrics(lambda q, n: counts[q])
    )
    c.run()
    records = Journal(tmp_path / "state", "checkout").events()
    measured = [r for r in records if r["event"] == "measured"]
    evidence = [r["measurements"][0]["evidence"] for r in measured]
    assert evidence == sorted(evidence)  # it only gathers
    assert evidence[-1] >= 1.0  # and fails the canary when it reaches the threshold
    assert measured[-1]["measurements"][0]["outcome"] == "failure"


def test_a_torn_last_line_is_left_out(tmp_path: Path) -> None:
    journal = Journal(tmp_path, "checkout")
    journal.audit("started", message="go")
    with journal.audit_path.open("a") as fh:
        fh.write('{"time": "2026-')
    assert [r["event"] for r in journal.events()] == ["started"]
    assert Journal(tmp_path, "nothing").events() == []
