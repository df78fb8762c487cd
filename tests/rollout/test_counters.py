"""Counts that partition time: a sequential judge must see each event once. With `counters:`
gate asks for the increase over exactly the time since the previous measurement, evaluated
at the measurement's own timestamp; a hand-written count query whose range is not the
interval is refused when the spec loads."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from gate.config.loader import load_text
from gate.errors import ConfigError, ProviderUnavailable
from gate.judge import Counts, Verdict, WindowJudge
from gate.providers.metrics.interface import QueryResult, Sample
from gate.rollout.analysis import Analyzer, Outcome
from gate.rollout.spec import RolloutSpec, parse_rollout
from gate.rollout.templates import values_for

SELECTORS = {
    "canaryErrors": 'http_requests_total{track="canary",code=~"5.."}',
    "canaryRequests": 'http_requests_total{track="canary"}',
    "baselineErrors": 'http_requests_total{track="stable",code=~"5.."}',
    "baselineRequests": 'http_requests_total{track="stable"}',
}
RATES = {  # events per second of each counter
    "canaryErrors": 0.35,
    "canaryRequests": 7.3,
    "baselineErrors": 0.7,
    "baselineRequests": 66.1,
}


def spec(metric: dict[str, Any], interval: str = "10s") -> RolloutSpec:
    data = {
        "apiVersion": "gate/v1",
        "kind": "Rollout",
        "metadata": {"name": "checkout"},
        "spec": {
            "traffic": {"provider": "dryrun"},
            "metrics": {"provider": "prometheus", "url": "http://127.0.0.1:9090"},
            "stages": [{"weight": 10, "duration": "1m"}, {"weight": 100}],
            "analysis": {"interval": interval, "metrics": [{"name": "errors", **metric}]},
        },
    }
    return parse_rollout(load_text(yaml.safe_dump(data), "rollout.yaml"))


class Counters:
    """A MetricsProvider fake holding four counters that grow at fixed rates; it answers
    `sum(increase(SELECTOR[Nms]))` at time t with the (fractional, extrapolated) increase."""

    name = "fake"

    def __init__(self) -> None:
        self.windows: list[tuple[datetime, datetime]] = []
        self.fail_next = 0

    def query(self, query: str, at: datetime | None = None) -> QueryResult:
        match = re.fullmatch(r"sum\(increase\((.+)\[(\d+)ms\]\)\)", query)
        assert match is not None, query
        assert at is not None
        if self.fail_next:
            self.fail_next -= 1
            raise ProviderUnavailable("down", provider="fake")
        key = next(k for k, s in SELECTORS.items() if s == match.group(1))
        seconds = int(match.group(2)) / 1000
        window = (at - timedelta(seconds=seconds), at)
        if key == "canaryErrors":
            self.windows.append(window)
        return QueryResult(query, (Sample({}, RATES[key] * seconds),))

    def query_range(self, *args: Any) -> list[Any]:
        return []

    def close(self) -> None:
        pass


class Judged(WindowJudge):
    """A judge that only remembers the windows it was given."""

    def __init__(self) -> None:
        self.seen: list[Counts] = []

    def observe(self, counts: Counts) -> Verdict:
        self.seen.append(counts)
        return Verdict.CONTINUE


def test_windows_partition_time_and_fractions_are_carried_not_lost() -> None:
    s = spec({"judge": "sequential", "counters": SELECTORS})
    clock = [datetime(2026, 12, 1, 12, 0, tzinfo=UTC)]
    provider = Counters()
    judge = Judged()
    analyzer = Analyzer(
        s.analysis,
        provider,
        values_for("checkout", "checkout", 10, {}),
        judge_factory=lambda m: judge,
        now=lambda: clock[0],
    )
    start = clock[0]
    analyzer.new_stage()
    steps = [10.0, 10.0, 9.7, 10.4, 10.0, 10.0, 13.0, 10.0]
    for i, step in enumerate(steps):
        clock[0] += timedelta(seconds=step)
        if i == 3:
            provider.fail_next = 1  # one failed measurement: its time goes to the next window
        (m,) = analyzer.measure(None) or []
        assert m.outcome is (Outcome.ERROR if i == 3 else Outcome.SUCCESS), m
    # contiguous: each window starts where the previous ended, the first at the stage start
    windows = provider.windows
    assert windows[0][0] == start
    for (_, end), (begin, _) in itertools.pairwise(windows):
        assert begin == end
    assert windows[-1][1] == clock[0]
    # every event counted once: the integer counts add up to the true increase (less than
    # one event of each kind still carried)
    elapsed = (clock[0] - start).total_seconds()
    total = sum(judge.seen, Counts(0, 0, 0, 0))
    for key, rate in RATES.items():
        name = re.sub(r"([A-Z])", r"_\1", key).lower()
        assert rate * elapsed - 1 < getattr(total, name) <= rate * elapsed


@pytest.mark.parametrize("window", ["1m", "30s", "5m", "10m:1m"])
def test_a_count_query_whose_range_is_not_the_interval_is_refused(window: str) -> None:
    queries = {k: f"sum(increase({s}[{window}]))" for k, s in SELECTORS.items()}
    with pytest.raises(ConfigError, match=r"canaryErrors: the range \[.*\] is not the analysis"):
        spec({"judge": "sequential", **queries})


@pytest.mark.parametrize("window", ["10s", "{{ interval }}"])
def test_a_count_query_over_exactly_the_interval_is_accepted(window: str) -> None:
    queries = {k: f"sum(increase({s}[{window}]))" for k, s in SELECTORS.items()}
    s = spec({"judge": "sequential", **queries})
    assert s.analysis.metrics[0].count_queries["canaryErrors"].endswith(f"[{window}]))")


def test_counters_and_count_queries_are_one_or_the_other() -> None:
    with pytest.raises(ConfigError, match="give either counters"):
        spec({"judge": "sequential", "counters": SELECTORS, "canaryErrors": "x"})
    with pytest.raises(ConfigError, match="counters: not a setting of a threshold judge"):
        spec({"query": "q", "max": 1, "counters": SELECTORS})
    with pytest.raises(ConfigError, match=r"counters.canaryRequests: 'rate\(x\[1m\]\)' is not"):
        spec({"judge": "sequential", "counters": {**SELECTORS, "canaryRequests": "rate(x[1m])"}})
