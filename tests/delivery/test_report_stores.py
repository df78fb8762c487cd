"""`gate report` reads rollouts from whichever state store the rollouts were journaled in —
a local directory or PostgreSQL — and names the ones it cannot read instead of failing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gate.rollout.controller import Controller
from gate.rollout.runtime import Options, store
from tests.cli.conftest import Result
from tests.delivery.conftest import rollout_spec
from tests.rollout.fakes import FakeClock, FakeMetrics, FakeRouter

Gate = Callable[..., Result]


@pytest.fixture(params=["local", pytest.param("postgresql", marks=pytest.mark.integration)])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Options]:
    """The store as `gate report` finds it: GATE_STATE_DIR or GATE_STATE_URL."""
    if request.param == "local":
        monkeypatch.setenv("GATE_STATE_DIR", str(tmp_path / "state"))
        yield Options(state_dir=str(tmp_path / "state"))
        return
    url = request.getfixturevalue("state_url")
    monkeypatch.setenv("GATE_STATE_URL", url)
    yield Options(state_url=url)


def drive(options: Options, name: str, service: str, error_rate: float) -> str:
    clock = FakeClock()
    with store(options) as opened:
        journal = opened.journal(name)
        controller = Controller(
            spec=rollout_spec(name, service),
            router=FakeRouter(),
            metrics=FakeMetrics(lambda q, n: error_rate),
            journal=journal,
            clock=clock,
            sleep=clock.sleep,
        )
        with journal.locked():
            return controller.run().status


def test_the_report_counts_the_rollouts_of_the_store_it_is_given(
    backend: Options, gate: Gate
) -> None:
    assert drive(backend, "checkout-v1", "checkout", 0.01) == "promoted"
    assert drive(backend, "checkout-v2", "checkout", 0.4) == "rolled-back"
    r = gate("report", "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert (data["rollouts"], data["promoted"], data["rolled_back"]) == (2, 1, 1)
    assert data["time_to_restore_seconds"]["count"] == 1
    assert [h["name"] for h in data["history"]] == ["checkout-v1", "checkout-v2"]
    assert data["unreadable"] == []
    timeline = gate("report", "--rollout", "checkout-v2", "--format", "markdown")
    assert timeline.code == 0, timeline.err
    assert timeline.out.startswith("## gate rollout `checkout-v2`: rolled-back\n")


def test_a_damaged_journal_is_named_and_the_rest_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gate: Gate
) -> None:
    options = Options(state_dir=str(tmp_path / "state"))
    monkeypatch.setenv("GATE_STATE_DIR", str(tmp_path / "state"))
    assert drive(options, "checkout-v1", "checkout", 0.4) == "rolled-back"
    assert drive(options, "payments-v3", "payments", 0.01) == "promoted"
    (tmp_path / "state" / "checkout-v1" / "state.json").write_text("{torn", encoding="utf-8")
    r = gate("report", "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert (data["rollouts"], data["promoted"], data["rolled_back"]) == (1, 1, 0)
    assert [u["name"] for u in data["unreadable"]] == ["checkout-v1"]
    assert "state.json is damaged" in data["unreadable"][0]["reason"]
    assert r.err.startswith("gate: warning: checkout-v1 is left out of the report: ")
    text = gate("report")
    assert "left out, journal unreadable (1):\n  checkout-v1: " in text.out


@pytest.mark.integration
def test_an_unknown_rollout_in_postgresql_is_bad_input(
    state_url: str, monkeypatch: pytest.MonkeyPatch, gate: Gate
) -> None:
    monkeypatch.setenv("GATE_STATE_URL", state_url)
    r = gate("report", "--rollout", "nothing-here", "--format", "svg")
    assert r.code == 2
    assert r.err.startswith(
        "gate: error: no journaled rollout named nothing-here in postgresql://gate@127.0.0.1:"
    )
    assert "password" not in r.err
