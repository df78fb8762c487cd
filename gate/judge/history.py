"""Judging a canary over a past time range: the core of ``gate judge`` (and of ``gate serve``).

Four range queries give, at each step, the increase of canary errors, canary requests,
baseline errors and baseline requests over that step (``sum(increase(x[1m]))`` with a 1-minute
step). The steps go, in order, to the sequential judge (:mod:`gate.judge.sequential`), which
may look at every one of them without inflating its error rates. A query whose range selector
is not the step is refused: overlapping windows count each error several times, which breaks
the judge's guarantee, and shorter ones miss errors.

The answer is one of three:

* ``fail`` — the canary's error rate is significantly above the baseline's (the lower
  confidence bound of the ratio is above 1);
* ``pass`` — the canary is proven within tolerance (the upper bound is at most ``max_ratio``);
* ``inconclusive`` — neither: no data, or too little to decide. Never a pass.

:func:`judge_series_range` judges any one metric (latency, CPU, …) Kayenta's way instead, with
the Mann-Whitney classifier of :mod:`gate.judge.kayenta`.

Nothing here prints or exits; a metrics outage is raised as ProviderUnavailable for the
caller to report.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gate.errors import ConfigError, ProviderUnavailable
from gate.judge import NO_COUNTS, Counts, JudgeKind, Verdict
from gate.judge.kayenta import Label, MannWhitneyClassifier, MetricClassification
from gate.judge.sequential import RatioInterval, SequentialCountJudge
from gate.providers.metrics.interface import MetricsProvider

KEYS = ("canary_errors", "canary_requests", "baseline_errors", "baseline_requests")
DEFAULT_MAX_RATIO = 1.5

_SELECTOR = re.compile(r"\[\s*((?:[0-9]+(?:ms|s|m|h|d|w|y))+)\s*\]")
_PART = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


@dataclass(frozen=True)
class Judgement:
    """The answer over a range, with what it rests on."""

    verdict: Verdict  # pass | fail | inconclusive
    reason: str
    interval: RatioInterval  # anytime-valid bounds on canary rate / baseline rate
    estimate: float | None  # most likely ratio, None without errors
    counts: Counts  # totals over the range
    windows: int  # steps in the range
    windows_with_data: int  # steps in which both arms had requests
    alpha: float
    max_ratio: float | None
    start: datetime
    end: datetime
    step: float
    failed_at: float | None = None  # unix time of the step that failed the canary
    proven_at: float | None = None  # unix time of the step that proved it within max_ratio
    method: JudgeKind = JudgeKind.SEQUENTIAL

    @property
    def totals(self) -> dict[str, int]:
        """The four totals by name (the form earlier releases returned)."""
        return self.counts.as_dict()

    @property
    def canary_rate(self) -> float | None:
        return self.counts.canary_rate

    @property
    def baseline_rate(self) -> float | None:
        return self.counts.baseline_rate

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (times in ISO 8601, UTC)."""

        def when(t: datetime | float | None) -> str | None:
            if t is None:
                return None
            moment = datetime.fromtimestamp(t, UTC) if isinstance(t, float | int) else t
            return moment.astimezone(UTC).isoformat()

        c = self.counts
        return {
            "verdict": str(self.verdict),
            "reason": self.reason,
            "method": str(self.method),
            "alpha": self.alpha,
            "max_ratio": self.max_ratio,
            "ratio": {
                "lower": self.interval.lower,
                "upper": self.interval.upper,
                "confidence": self.interval.confidence,
                "estimate": self.estimate,
            },
            "data": {
                "windows": self.windows,
                "windows_with_data": self.windows_with_data,
                "canary": {"requests": c.canary_requests, "errors": c.canary_errors},
                "baseline": {"requests": c.baseline_requests, "errors": c.baseline_errors},
            },
            "rates": {"canary": self.canary_rate, "baseline": self.baseline_rate},
            "failed_at": when(self.failed_at),
            "proven_at": when(self.proven_at),
            "range": {"start": when(self.start), "end": when(self.end), "step": self.step},
            # the flat form earlier releases printed
            "windows": self.windows,
            "totals": c.as_dict(),
        }


def _seconds(text: str) -> float:
    return sum(int(n) * _UNIT[unit] for n, unit in _PART.findall(text))


def check_windows(queries: Mapping[str, str], step: float) -> None:
    """Refuse count queries whose range selectors are not exactly one step long."""
    for key in KEYS:
        for match in _SELECTOR.finditer(queries[key]):
            span = _seconds(match.group(1))
            if math.isclose(span, step):
                continue
            why = (
                f"each error would be counted {span / step:g} times (windows overlap)"
                if span > step
                else "errors between windows would be missed"
            )
            raise ConfigError(
                f"the range [{match.group(1)}] is not the step ({step:g}s): {why}; "
                f"use [{step:g}s] or a step of {match.group(1)}",
                field=f"--{key.replace('_', '-')}",
            )


def _series(
    provider: MetricsProvider,
    key: str,
    query: str,
    start: datetime,
    end: datetime,
    step: float,
    *,
    allow_nan: bool = False,
) -> dict[float, float]:
    result = provider.query_range(query, start, end, step)
    if len(result) > 1:
        raise ConfigError(
            f"the query returned {len(result)} series; wrap it in sum(...)",
            field=f"--{key.replace('_', '-')}",
        )
    points = result[0][1] if result else []
    if allow_nan:  # NaN is "no value here", which Kayenta's classifier removes itself
        return {t: v for t, v in points if not math.isinf(v)}
    return {t: v for t, v in points if math.isfinite(v)}


def _count(value: float | None) -> int:
    return max(0, round(value)) if value is not None else 0


def judge_range(
    provider: MetricsProvider,
    queries: Mapping[str, str],
    start: datetime,
    end: datetime,
    step: float,
    alpha: float = 0.01,
    *,
    max_ratio: float | None = DEFAULT_MAX_RATIO,
) -> Judgement:
    """Judge the canary over [start, end] in steps of ``step`` seconds (see the module
    docstring). Raises ConfigError for bad queries, ProviderUnavailable when the metrics
    server cannot answer."""
    check_windows(queries, step)
    series = {k: _series(provider, k, queries[k], start, end, step) for k in KEYS}
    times = sorted(set().union(*(s.keys() for s in series.values())))
    judge = SequentialCountJudge(alpha=alpha, max_ratio=max_ratio)
    with_data = 0
    for t in times:
        ce, cr, be, br = (_count(series[k].get(t)) for k in KEYS)
        window = Counts(min(ce, cr), cr, min(be, br), br)
        with_data += bool(cr and br)
        judge.update(window)
    return _judgement(judge, times, with_data, start, end, step)


def _judgement(
    judge: SequentialCountJudge,
    times: list[float],
    with_data: int,
    start: datetime,
    end: datetime,
    step: float,
) -> Judgement:
    def at(index: int | None) -> float | None:
        return times[index - 1] if index else None

    counts = judge.totals if times else NO_COUNTS
    interval = judge.interval
    if judge.failed:
        verdict = Verdict.FAIL
        reason = f"canary errors significantly above the baseline's: {interval.describe()}"
    elif judge.proven:
        verdict = Verdict.PASS
        reason = f"canary proven within {judge.max_ratio:g}× the baseline: {interval.describe()}"
    else:
        verdict = Verdict.INCONCLUSIVE
        if not with_data:
            reason = "no data: no step had requests in both canary and baseline"
        elif not counts.errors:
            reason = "too little data: no errors in either arm, so the ratio is not bounded"
        elif judge.max_ratio is None:
            reason = f"no significant harm, and no tolerance to prove: {interval.describe()}"
        else:
            reason = (
                f"too little data to prove the ratio ≤ {judge.max_ratio:g} or to show harm: "
                f"{interval.describe()}"
            )
    return Judgement(
        verdict=verdict,
        reason=reason,
        interval=interval,
        estimate=judge.estimate,
        counts=counts,
        windows=len(times),
        windows_with_data=with_data,
        alpha=judge.alpha,
        max_ratio=judge.max_ratio,
        start=start,
        end=end,
        step=step,
        failed_at=at(judge.failed_at),
        proven_at=at(judge.proven_at),
    )


def judge_until(
    provider: MetricsProvider,
    queries: Mapping[str, str],
    start: datetime,
    deadline: datetime,
    step: float,
    alpha: float = 0.01,
    *,
    max_ratio: float | None = DEFAULT_MAX_RATIO,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None],
) -> Judgement:
    """Judge [start, now] every step until the answer is pass or fail, or ``deadline`` passes;
    return the last answer. The range only grows, so this is one sequential test looked at
    again and again, which the judge allows. A metrics outage is waited out; if it lasts to
    the deadline, ProviderUnavailable is raised."""
    check_windows(queries, step)
    while True:
        now = clock()
        try:
            answer = judge_range(provider, queries, start, now, step, alpha, max_ratio=max_ratio)
        except ProviderUnavailable:
            if now >= deadline:
                raise
        else:
            if answer.verdict is not Verdict.INCONCLUSIVE or now >= deadline:
                return answer
        sleep(max(0.0, min(step, (deadline - now).total_seconds())))


# --- Kayenta's way, for any metric -----------------------------------------------------------


@dataclass(frozen=True)
class SeriesJudgement:
    """The answer of Kayenta's Mann-Whitney classifier on two series over a range."""

    verdict: Verdict  # pass | fail | inconclusive
    reason: str
    classification: MetricClassification  # label, shift interval, effect size
    canary_points: int
    baseline_points: int
    confidence: float
    tolerance: float
    direction: str
    start: datetime
    end: datetime
    step: float
    method: JudgeKind = JudgeKind.MANN_WHITNEY

    def as_dict(self) -> dict[str, Any]:
        c = self.classification
        interval = c.interval
        return {
            "verdict": str(self.verdict),
            "reason": self.reason,
            "method": str(self.method),
            "classification": str(c.classification),
            "shift": {
                "lower": interval.lower if interval else None,
                "upper": interval.upper if interval else None,
                "estimate": interval.estimate if interval else None,
                "confidence": self.confidence,
            },
            "mean_ratio": None if math.isnan(c.deviation) else c.deviation,
            "tolerance": self.tolerance,
            "direction": self.direction,
            "data": {
                "canary": {"points": self.canary_points},
                "baseline": {"points": self.baseline_points},
            },
            "range": {
                "start": self.start.astimezone(UTC).isoformat(),
                "end": self.end.astimezone(UTC).isoformat(),
                "step": self.step,
            },
        }


def judge_series_range(
    provider: MetricsProvider,
    canary_query: str,
    baseline_query: str,
    start: datetime,
    end: datetime,
    step: float,
    *,
    confidence: float = 0.98,
    tolerance: float = 0.25,
    direction: str = "either",
    min_points: int = 10,
) -> SeriesJudgement:
    """Kayenta's judgement of one metric (latency, CPU, memory, an error rate …): the canary's
    values over the range against the baseline's, by the Mann-Whitney classifier of
    :mod:`gate.judge.kayenta` with Kayenta's judge defaults (98 %, tolerance 0.25, either
    direction). High or Low in a direction that counts fails; Pass passes only with at least
    ``min_points`` values per arm; anything less is inconclusive. A fixed-horizon test: judge a
    canary once (at the end of a stage), not again and again."""
    canary = list(
        _series(provider, "canary", canary_query, start, end, step, allow_nan=True).values()
    )
    baseline = list(
        _series(provider, "baseline", baseline_query, start, end, step, allow_nan=True).values()
    )
    classifier = MannWhitneyClassifier(tolerance=tolerance, conf_level=confidence)
    result = classifier.classify(baseline, canary, direction, name="the metric")
    n_canary = sum(1 for v in canary if not math.isnan(v))
    n_baseline = sum(1 for v in baseline if not math.isnan(v))
    label = result.classification
    shift = result.interval
    where = (
        f"shift canary − baseline in [{shift.lower:.4g}, {shift.upper:.4g}] "
        f"(estimate {shift.estimate:.4g}) at {confidence:.0%}"
        if shift
        else "no shift computed"
    )
    if label in (Label.HIGH, Label.LOW):
        verdict = Verdict.FAIL
        reason = f"canary {'higher' if label is Label.HIGH else 'lower'} than baseline: {where}"
    elif label is Label.NODATA:
        verdict = Verdict.INCONCLUSIVE
        reason = "no data: no values for the canary or the baseline"
    elif min(n_canary, n_baseline) < min_points:
        verdict = Verdict.INCONCLUSIVE
        reason = (
            f"too little data: {n_canary} canary and {n_baseline} baseline values, "
            f"{min_points} needed per arm"
        )
    else:
        verdict = Verdict.PASS
        reason = f"no shift beyond the tolerance: {where}"
    return SeriesJudgement(
        verdict=verdict,
        reason=reason,
        classification=result,
        canary_points=n_canary,
        baseline_points=n_baseline,
        confidence=confidence,
        tolerance=tolerance,
        direction=direction,
        start=start,
        end=end,
        step=step,
    )
