"""`gate report` over three rollouts the real controller drove into one state directory."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Result
from tests.delivery.conftest import ROUTER_SECONDS

Gate = Callable[..., Result]
SVG = "{http://www.w3.org/2000/svg}"


def test_three_rollouts_one_promoted_two_rolled_back(three_rollouts: Path, gate: Gate) -> None:
    r = gate("report", "--state-dir", str(three_rollouts), "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert (data["rollouts"], data["promoted"], data["rolled_back"]) == (3, 1, 2)
    assert data["rollback_rate"] == pytest.approx(2 / 3)
    assert data["change_failure_rate"] == pytest.approx(2 / 3)
    assert data["rollback_rate_met"] is False
    # checkout-v42 failed on its first failing 10 s window, payments-v7 on its second
    detect = data["time_to_detect_seconds"]
    assert detect["median"] == pytest.approx(15.0)
    assert detect["p90"] == pytest.approx(19.0)
    assert detect["met"] is True
    restore = data["time_to_restore_seconds"]
    assert restore["median"] == pytest.approx(ROUTER_SECONDS)
    assert restore["count"] == 2
    assert restore["met"] is True
    assert data["deploys_per_day"] == pytest.approx(1 / 30)
    assert set(data["services"]) == {"checkout", "payments"}
    assert data["services"]["checkout"]["rolled_back"] == 1
    assert [h["status"] for h in data["history"]] == ["promoted", "rolled-back", "rolled-back"]


def test_one_service_and_a_shorter_period(three_rollouts: Path, gate: Gate) -> None:
    r = gate("report", "--state-dir", str(three_rollouts), "--service", "payments", "-f", "json")
    data = json.loads(r.out)
    assert (data["rollouts"], data["promoted"], data["rolled_back"]) == (1, 0, 1)
    recent = json.loads(
        gate("report", "--state-dir", str(three_rollouts), "--since", "1d", "-f", "json").out
    )
    assert recent["rollouts"] == 0


def test_text_report_shows_each_figure_beside_its_target(three_rollouts: Path, gate: Gate) -> None:
    r = gate("report", "--state-dir", str(three_rollouts))
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].startswith("gate report: ")
    assert any("rollback rate" in x and "66.7%" in x and "NOT MET" in x for x in lines)
    assert any("time to detect" in x and "median 15.0 s" in x and " met" in x for x in lines)
    assert any("time to restore" in x and "median 1.5 s" in x for x in lines)
    assert "per service:" in r.out


def test_markdown_report_has_a_trend_chart(three_rollouts: Path, gate: Gate) -> None:
    r = gate("report", "--state-dir", str(three_rollouts), "--format", "markdown")
    assert r.code == 0
    assert "| rollback rate | 66.7% | < 2% | ❌ not met |" in r.out
    assert r.out.count("```mermaid\n%%{init: ") == 2
    assert r.out.count("\nxychart-beta\n") == 2
    assert 'title "Rollbacks per day"' in r.out
    bars = next(x for x in r.out.splitlines() if x.strip().startswith("bar ["))
    assert sum(int(v) for v in bars.strip()[5:-1].split(", ")) == 2


def test_a_rolled_back_rollout_draws_its_timeline_as_svg(
    three_rollouts: Path, gate: Gate, tmp_path: Path
) -> None:
    out = tmp_path / "v42.svg"
    r = gate(
        "report",
        "--state-dir",
        str(three_rollouts),
        "--rollout",
        "checkout-v42",
        "--format",
        "svg",
        "--output",
        str(out),
    )
    assert r.code == 0, r.err
    root = ET.fromstring(out.read_text())
    assert root.tag == f"{SVG}svg"
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert "gate rollout checkout-v42: rolled-back" in texts
    for panel in (
        "Canary weight (%)",
        "Canary vs baseline, per interval",
        "Judge's evidence / its threshold (1 = fail)",
    ):
        assert panel in texts
    assert any(t.startswith("rollback ") for t in texts)
    assert any(t.startswith("stable traffic ") for t in texts)
    failures = [c for c in root.iter(f"{SVG}circle") if c.find(f"{SVG}title") is not None]
    assert len(failures) == 1  # one failed measurement, marked
    assert len(list(root.iter(f"{SVG}path"))) >= 4  # weight area and line, value, evidence


def test_a_timeline_as_mermaid(three_rollouts: Path, gate: Gate) -> None:
    r = gate(
        "report",
        "--state-dir",
        str(three_rollouts),
        "--rollout",
        "payments-v7",
        "--format",
        "markdown",
    )
    assert r.code == 0
    assert r.out.startswith("## gate rollout `payments-v7`: rolled-back")
    assert 'title "Canary weight % per interval, rolled back at ' in r.out
    assert 'title "Judge evidence (fails at 1, red): error-rate blue"' in r.out
    assert 'title "error-rate: canary (blue)"' in r.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "30x"], "gate: error: --since: '30x' is not a duration such as 500ms"),
        (["--since", "0d"], "gate: error: --since: 0d is shorter than the minimum of 1m"),
        (["--format", "svg"], "gate: error: --format: svg draws one rollout's timeline"),
        (["--rollout", "nope", "-f", "svg"], "gate: error: no journaled rollout named nope"),
        (["--rollout", "checkout-v41", "-f", "json"], "gate: error: --format: one rollout's"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    three_rollouts: Path, gate: Gate, args: list[str], message: str
) -> None:
    r = gate("report", "--state-dir", str(three_rollouts), *args)
    assert r.code == 2
    assert r.err.startswith(message)
    assert len(r.err.splitlines()) == 1
    assert r.out == ""


def test_an_empty_state_directory_is_an_empty_report(tmp_path: Path, gate: Gate) -> None:
    r = gate("report", "--state-dir", str(tmp_path / "none"), "--format", "json")
    assert r.code == 0
    data = json.loads(r.out)
    assert (data["rollouts"], data["rollback_rate"]) == (0, None)
    assert data["time_to_restore_seconds"]["median"] is None


def test_dry_runs_and_rollouts_that_never_started_are_left_out(
    three_rollouts: Path, gate: Gate
) -> None:
    from gate.rollout.journal import Journal, RolloutState, RolloutStatus

    leave_out = [
        ("checkout.dry-run", RolloutStatus.PROMOTED, True),
        ("bad", RolloutStatus.FAILED_TO_START, False),
    ]
    for name, status, dry in leave_out:
        Journal(three_rollouts, name).save(
            RolloutState(
                name=name,
                status=status,
                spec={},
                spec_file="",
                dry_run=dry,
                started_at="2026-11-30T10:00:00+00:00",
            )
        )
    data = json.loads(gate("report", "--state-dir", str(three_rollouts), "-f", "json").out)
    assert data["rollouts"] == 3
