"""Stages that end on proof (`promoteEarly`), and Kayenta's Mann-Whitney test per stage."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from gate.errors import ConfigError
from gate.rollout.events import EventKind
from tests.rollout.fakes import FakeMetrics, FakeRouter, controller, spec

COUNT_QUERIES = {
    "canaryErrors": "ce[{{ interval }}]",
    "canaryRequests": "cr[{{ interval }}]",
    "baselineErrors": "be[{{ interval }}]",
    "baselineRequests": "br[{{ interval }}]",
}


def counts(canary_rate: float, seed: int = 7) -> FakeMetrics:
    """Per 10 s window: 2,000 canary and 18,000 baseline requests at 1 % (baseline) errors."""
    rng = random.Random(seed)
    draws: dict[str, float] = {}

    def answer(query: str, n: int) -> float:
        key = query.split("[")[0]
        if key == "ce":
            draws["ce"] = sum(rng.random() < canary_rate for _ in range(2000))
        if key == "be":
            draws["be"] = sum(rng.random() < 0.01 for _ in range(18000))
        return {"cr": 2000.0, "br": 18000.0}.get(key, draws.get(key, 0.0))

    return FakeMetrics(answer)


def sequential(max_ratio: float | None = 1.5) -> dict[str, Any]:
    metric: dict[str, Any] = {"name": "errors", "judge": "sequential", **COUNT_QUERIES}
    if max_ratio is not None:
        metric["maxRatio"] = max_ratio
    return metric


STAGES = [{"weight": 10, "duration": "10m"}, {"weight": 50, "duration": "10m"}, {"weight": 100}]


def test_a_good_canary_proven_within_tolerance_goes_on_before_its_time(tmp_path: Path) -> None:
    s = spec(analysis__metrics=[sequential()], analysis__promoteEarly=True, stages=STAGES)
    router = FakeRouter()
    c, events = controller(tmp_path, s, counts(0.01), router)
    assert c.run().status == "promoted"
    assert router.history == [10, 50, 100]
    early = [e.message for e in events if "proven within tolerance" in e.message]
    assert len(early) == 2  # both timed stages ended on proof, each well before its 600 s
    assert all("of 600s" in m and int(m.split(" after ")[1].split("s")[0]) < 600 for m in early)


def test_without_proof_the_timer_alone_never_ends_the_stage(tmp_path: Path) -> None:
    # as good as its baseline, but a minute of traffic cannot prove it within ×1.02
    s = spec(
        analysis__metrics=[sequential(1.02)],
        analysis__promoteEarly=True,
        analysis__onInconclusive="fail",
        stages=[{"weight": 10, "duration": "1m"}, {"weight": 100}],
    )
    router = FakeRouter()
    c, _ = controller(tmp_path, s, counts(0.01), router)
    result = c.run()
    assert result.status == "rolled-back"
    assert "without every metric proven within tolerance" in result.reason
    assert router.history == [10, 0]


def test_promote_early_needs_every_metric_to_be_able_to_prove(tmp_path: Path) -> None:
    threshold = {"name": "latency", "query": "q", "max": 0.5}
    with pytest.raises(ConfigError, match="metric 'latency' cannot prove the canary"):
        spec(analysis__metrics=[sequential(), threshold], analysis__promoteEarly=True)
    with pytest.raises(ConfigError, match=r"maxRatio: the tolerance .* must be above 1"):
        spec(analysis__metrics=[sequential(0.9)])


def series(canary: float, baseline: float, noise: float = 0.05, seed: int = 3) -> FakeMetrics:
    rng = random.Random(seed)

    def answer(query: str, n: int) -> float:
        level = canary if query == "cpu_canary" else baseline
        return level * (1 + rng.gauss(0, noise))

    return FakeMetrics(answer)


MANN_WHITNEY = {
    "name": "cpu",
    "judge": "mann-whitney",
    "query": "cpu_canary",
    "baselineQuery": "cpu_baseline",
    "direction": "increase",
}
SHORT = [{"weight": 10, "duration": "2m"}, {"weight": 100}]


def test_mann_whitney_fails_a_canary_whose_series_sits_above_its_baseline(
    tmp_path: Path,
) -> None:
    s = spec(analysis__metrics=[MANN_WHITNEY], stages=SHORT)
    router = FakeRouter()
    c, events = controller(tmp_path, s, series(canary=1.6, baseline=1.0), router)
    result = c.run()
    assert result.status == "rolled-back"
    assert "cpu: the canary is High against its baseline over 12 intervals" in result.reason
    # a fixed-horizon test: it is run once, at the stage's end, not at every interval
    measured = [e for e in events if e.kind is EventKind.MEASURED]
    assert len(measured) == 12  # at 10 s … 120 s
    assert router.history == [10, 0]


def test_mann_whitney_passes_a_canary_like_its_baseline(tmp_path: Path) -> None:
    s = spec(analysis__metrics=[MANN_WHITNEY], stages=SHORT)
    c, _ = controller(tmp_path, s, series(canary=1.0, baseline=1.0))
    assert c.run().status == "promoted"


def test_mann_whitney_with_too_few_pairs_is_inconclusive_never_a_pass(tmp_path: Path) -> None:
    s = spec(
        analysis__metrics=[{**MANN_WHITNEY, "minSamples": 50}],
        analysis__onInconclusive="fail",
        stages=SHORT,
    )
    c, _ = controller(tmp_path, s, series(canary=1.0, baseline=1.0))
    result = c.run()
    assert result.status == "rolled-back"
    assert "12 canary/baseline pair(s) in the stage, 50 needed" in result.reason
