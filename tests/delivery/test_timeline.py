"""The rollout timeline: the step summary's Mermaid charts and the SVG, from live events and
from the journal alike."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gate.delivery.svg import render
from gate.delivery.timeline import clock, from_records, records_from_events
from gate.report.progress import Timeline
from gate.rollout.journal import Journal
from tests.rollout.fakes import FakeMetrics, controller, spec


def failing_rollout(tmp_path: Path) -> Timeline:
    timeline = Timeline()
    c, _ = controller(tmp_path, spec(), FakeMetrics(lambda q, n: 0.01 if n < 5 else 0.3))
    c.emit = timeline
    c.run()
    return timeline


def test_the_step_summary_shows_the_timeline_as_mermaid_charts(tmp_path: Path) -> None:
    md = failing_rollout(tmp_path).markdown()
    assert "| time (UTC) | stage | canary | event |" in md
    blocks = md.split("```mermaid\n")[1:]
    assert len(blocks) == 3  # weight, the metric, the judge's evidence
    assert all("\nxychart-beta\n" in b for b in blocks)
    assert "    bar [1, 1, 1, 1]" in blocks[0]  # canary weight 1 % at each interval
    assert 'title "error-rate: canary (blue)"' in blocks[1]
    assert "    line [0.01, 0.01, 0.01, 0.3]" in blocks[1]
    assert "    line [0.2, 0.2, 0.2, 6]" in blocks[2]  # value / max 0.05
    assert "    line [1, 1, 1, 1]" in blocks[2]  # the threshold


def test_live_events_and_the_journal_give_the_same_timeline(tmp_path: Path) -> None:
    live = failing_rollout(tmp_path)
    from_live = from_records("checkout", records_from_events(live.events))
    journaled = from_records("checkout", Journal(tmp_path / "state", "checkout").events())
    assert [(p.metric, p.value, p.evidence) for p in from_live.points] == [
        (p.metric, p.value, p.evidence) for p in journaled.points
    ]
    assert journaled.status == "rolled-back"
    assert journaled.rollback_at is not None
    assert journaled.restored_at is not None
    assert journaled.rollback_at <= journaled.restored_at
    assert [w for _, w in journaled.weights] == [0, 1, 0]


def test_the_svg_is_well_formed_with_three_panels(tmp_path: Path) -> None:
    failing_rollout(tmp_path)
    svg = render(from_records("checkout", Journal(tmp_path / "state", "checkout").events()))
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("viewBox", "").startswith("0 0 960 ")
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "threshold" in texts
    assert "error-rate canary" in texts
    assert "failed measurement" in texts


def test_an_empty_journal_has_no_timeline() -> None:
    with pytest.raises(ValueError, match="no journaled events"):
        from_records("checkout", [])
    assert Timeline().markdown() == ""
    assert Timeline().charts() == ""


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (75.4, "1:15"), (3600, "60:00")])
def test_clock(seconds: float, text: str) -> None:
    assert clock(seconds) == text
