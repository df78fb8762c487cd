"""Judging a past range (gate.judge.history), with a fake of gate's MetricsProvider interface."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gate.errors import ConfigError, ProviderUnavailable
from gate.judge import Counts, Verdict
from gate.judge.history import (
    Judgement,
    SeriesJudgement,
    check_windows,
    judge_range,
    judge_series_range,
    judge_until,
)
from gate.providers.metrics.interface import QueryResult

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
QUERIES = {
    "canary_errors": "sum(increase(errors{track='canary'}[1m]))",
    "canary_requests": "sum(increase(requests{track='canary'}[1m]))",
    "baseline_errors": "sum(increase(errors{track='stable'}[1m]))",
    "baseline_requests": "sum(increase(requests{track='stable'}[1m]))",
}
Points = list[tuple[float, float]]


class RangeFake:
    """A MetricsProvider answering range queries from per-minute series; strict: it only
    knows the four queries above, only range queries, and only points inside the range."""

    name = "fake"

    def __init__(self, per_minute: Callable[[int], Counts] | None, minutes: int = 60) -> None:
        self.per_minute = per_minute
        self.minutes = minutes
        self.down = False
        self.calls = 0

    def query(self, query: str, at: datetime | None = None) -> QueryResult:
        raise AssertionError("judge_range runs range queries only")

    def query_range(
        self, query: str, start: datetime, end: datetime, step_seconds: float
    ) -> list[tuple[dict[str, str], Points]]:
        self.calls += 1
        if self.down:
            raise ProviderUnavailable("connection refused", provider="fake")
        assert step_seconds == 60
        key = {v: k for k, v in QUERIES.items()}[query]
        if self.per_minute is None:
            return []
        points = []
        for i in range(self.minutes):
            t = T0 + timedelta(minutes=i)
            if start <= t <= end:
                points.append((t.timestamp(), float(getattr(self.per_minute(i), key))))
        return [({}, points)]

    def close(self) -> None:
        pass


def judge(fake: RangeFake, minutes: int = 60, **params: float) -> Judgement:
    return judge_range(fake, QUERIES, T0, T0 + timedelta(minutes=minutes - 1), 60, **params)


def test_a_good_canary_with_enough_traffic_passes() -> None:
    result = judge(RangeFake(lambda i: Counts(10, 1000, 90, 9000)))
    assert result.verdict is Verdict.PASS
    assert result.interval.upper is not None
    assert result.interval.upper <= 1.5
    assert result.proven_at is not None
    assert result.failed_at is None
    assert (result.windows, result.windows_with_data) == (60, 60)
    assert result.counts == Counts(600, 60_000, 5400, 540_000)
    assert result.canary_rate == pytest.approx(0.01)
    assert "proven within 1.5× the baseline" in result.reason


def test_a_worse_canary_fails() -> None:
    result = judge(RangeFake(lambda i: Counts(30, 1000, 90, 9000)))
    assert result.verdict is Verdict.FAIL
    assert result.failed_at is not None
    assert result.failed_at < (T0 + timedelta(minutes=59)).timestamp()
    assert result.interval.lower is not None
    assert result.interval.lower > 1
    assert result.estimate == pytest.approx(3.0, rel=0.05)


def test_no_data_is_inconclusive_never_pass() -> None:
    result = judge(RangeFake(None))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.windows == 0
    assert result.counts == Counts(0, 0, 0, 0)
    assert result.reason.startswith("no data")


def test_no_canary_traffic_is_inconclusive() -> None:
    result = judge(RangeFake(lambda i: Counts(0, 0, 90, 9000)))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert (result.windows, result.windows_with_data) == (60, 0)
    assert result.reason.startswith("no data")


def test_traffic_without_errors_is_inconclusive() -> None:
    result = judge(RangeFake(lambda i: Counts(0, 1000, 0, 9000)))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "no errors in either arm" in result.reason


def test_too_little_data_is_inconclusive() -> None:
    result = judge(RangeFake(lambda i: Counts(i % 2, 100, 5, 900)), minutes=10)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.reason.startswith("too little data to prove the ratio ≤ 1.5")


def test_the_answer_as_json() -> None:
    answer = judge(RangeFake(lambda i: Counts(10, 1000, 90, 9000))).as_dict()
    assert answer["verdict"] == "pass"
    assert answer["method"] == "sequential"
    assert answer["data"] == {
        "windows": 60,
        "windows_with_data": 60,
        "canary": {"requests": 60_000, "errors": 600},
        "baseline": {"requests": 540_000, "errors": 5400},
    }
    assert answer["ratio"]["confidence"] == 0.99
    assert answer["ratio"]["upper"] <= 1.5
    assert answer["range"] == {
        "start": "2026-03-02T12:00:00+00:00",
        "end": "2026-03-02T12:59:00+00:00",
        "step": 60,
    }
    assert answer["proven_at"].startswith("2026-03-02T12:")
    assert answer["failed_at"] is None
    assert answer["totals"]["canary_errors"] == 600


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("[5m]", r"the range \[5m\] is not the step \(60s\): each error would be counted 5 times"),
        ("[30s]", r"the range \[30s\] is not the step \(60s\): errors between windows"),
        ("[1m30s]", r"counted 1.5 times"),
    ],
)
def test_windows_that_overlap_or_leave_gaps_are_refused(selector: str, message: str) -> None:
    """Overlapping windows count each error several times and break the judge's guarantee:
    such queries never reach it."""
    queries = {**QUERIES, "canary_errors": f"sum(increase(errors{{track='canary'}}{selector}))"}
    fake = RangeFake(lambda i: Counts(10, 1000, 90, 9000))
    with pytest.raises(ConfigError, match=message) as err:
        judge_range(fake, queries, T0, T0 + timedelta(hours=1), 60)
    assert err.value.field == "--canary-errors"
    assert fake.calls == 0
    check_windows({**QUERIES, "canary_errors": "sum(increase(e[60s]))"}, 60)  # same span


def test_several_series_must_be_summed() -> None:
    class TwoSeries(RangeFake):
        def query_range(
            self, query: str, start: datetime, end: datetime, step_seconds: float
        ) -> list[tuple[dict[str, str], Points]]:
            return [({"pod": "a"}, []), ({"pod": "b"}, [])]

    with pytest.raises(ConfigError, match="returned 2 series; wrap it in sum"):
        judge(TwoSeries(None))


def test_an_outage_is_raised_not_judged() -> None:
    fake = RangeFake(lambda i: Counts(30, 1000, 90, 9000))
    fake.down = True
    with pytest.raises(ProviderUnavailable):
        judge(fake)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def test_judge_until_waits_for_enough_data() -> None:
    """Inconclusive after 5 minutes; the range grows a step at a time until the proof."""
    clock = Clock(T0 + timedelta(minutes=5))
    fake = RangeFake(lambda i: Counts(3, 300, 27, 2700))
    result = judge_until(
        fake, QUERIES, T0, T0 + timedelta(minutes=50), 60, clock=clock, sleep=clock.sleep
    )
    assert result.verdict is Verdict.PASS
    assert 0 < len(clock.slept) < 45
    assert set(clock.slept) == {60}
    assert result.end == clock.now


def test_judge_until_gives_up_at_the_deadline() -> None:
    clock = Clock(T0 + timedelta(minutes=5))
    fake = RangeFake(lambda i: Counts(0, 1000, 0, 9000))
    result = judge_until(
        fake, QUERIES, T0, T0 + timedelta(minutes=9, seconds=30), 60, clock=clock, sleep=clock.sleep
    )
    assert result.verdict is Verdict.INCONCLUSIVE
    assert clock.slept == [60, 60, 60, 60, 30]


def test_judge_until_waits_out_an_outage_but_not_forever() -> None:
    clock = Clock(T0 + timedelta(minutes=5))
    fake = RangeFake(lambda i: Counts(30, 1000, 90, 9000))
    fake.down = True
    with pytest.raises(ProviderUnavailable):
        judge_until(
            fake, QUERIES, T0, T0 + timedelta(minutes=8), 60, clock=clock, sleep=clock.sleep
        )
    assert fake.calls == 4  # at 5, 6, 7 and 8 minutes


class SeriesFake:
    """A MetricsProvider answering two range queries, "canary" and "baseline", each with one
    series of the given values at one-minute steps from T0."""

    name = "fake"

    def __init__(self, canary: list[float], baseline: list[float]) -> None:
        self.values = {"canary": canary, "baseline": baseline}

    def query(self, query: str, at: datetime | None = None) -> QueryResult:
        raise AssertionError("range queries only")

    def query_range(
        self, query: str, start: datetime, end: datetime, step_seconds: float
    ) -> list[tuple[dict[str, str], Points]]:
        values = self.values[query]
        if not values:
            return []
        return [({}, [((T0 + timedelta(minutes=i)).timestamp(), v) for i, v in enumerate(values)])]

    def close(self) -> None:
        pass


def series(canary: list[float], baseline: list[float], **params: Any) -> SeriesJudgement:
    return judge_series_range(
        SeriesFake(canary, baseline),
        "canary",
        "baseline",
        T0,
        T0 + timedelta(hours=1),
        60,
        **params,
    )


def test_kayentas_way_fails_a_higher_canary() -> None:
    """The ClassifierSuite's "High Metric" data (spinnaker/kayenta, ClassifierSuite.scala):
    High at 95 % and tolerance 0.10, so the judgement fails."""
    from tests.judge.reference import kayenta_arrays

    data = kayenta_arrays("ClassifierSuite", "Mann-Whitney Classifier Test: High Metric")
    result = series(data["experimentData"], data["controlData"], confidence=0.95, tolerance=0.10)
    assert result.verdict is Verdict.FAIL
    assert str(result.classification.classification) == "High"
    assert result.reason.startswith("canary higher than baseline: shift canary − baseline in [")
    assert (result.canary_points, result.baseline_points) == (30, 30)
    answer = result.as_dict()
    assert answer["method"] == "mann-whitney"
    assert answer["classification"] == "High"
    assert answer["shift"]["lower"] > 0
    assert answer["data"] == {"canary": {"points": 30}, "baseline": {"points": 30}}


def test_kayentas_way_respects_the_direction() -> None:
    low = [1.0, 1.1, 0.9, 1.0, 1.05] * 4
    high = [2.0, 2.1, 1.9, 2.0, 2.05] * 4
    assert series(low, high).verdict is Verdict.FAIL  # either: Low fails too
    assert series(low, high, direction="increase").verdict is Verdict.PASS  # lower is fine


def test_kayentas_way_needs_data() -> None:
    same = [1.0, 1.1, 0.9, 1.0, 1.05]
    assert series([], same * 4).verdict is Verdict.INCONCLUSIVE
    few = series(same, same)
    assert few.verdict is Verdict.INCONCLUSIVE
    assert few.reason == "too little data: 5 canary and 5 baseline values, 10 needed per arm"
    nan_gaps = series([math.nan] * 15 + same * 2, same * 4)
    assert nan_gaps.canary_points == 10
    assert nan_gaps.verdict is Verdict.PASS
