"""A one-off canary-versus-baseline judgement over a past time range (``gate judge``).

Four range queries give, at each step, the increase of canary errors, canary requests,
baseline errors and baseline requests over that step (e.g. ``sum(increase(x[1m]))`` with a
1-minute step). The steps are fed in order to the sequential judge, which may look at every
step without inflating false alarms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from gate.errors import ConfigError
from gate.judge import count_judge
from gate.providers.metrics.interface import MetricsProvider

KEYS = ("canary_errors", "canary_requests", "baseline_errors", "baseline_requests")


@dataclass(frozen=True)
class Judgement:
    verdict: str  # "fail" | "pass"
    windows: int
    failed_at: float | None  # unix time of the window that failed the canary
    totals: dict[str, int]
    alpha: float

    @property
    def canary_rate(self) -> float | None:
        n = self.totals["canary_requests"]
        return self.totals["canary_errors"] / n if n else None

    @property
    def baseline_rate(self) -> float | None:
        n = self.totals["baseline_requests"]
        return self.totals["baseline_errors"] / n if n else None


def _series(
    provider: MetricsProvider, name: str, query: str, start: datetime, end: datetime, step: float
) -> dict[float, float]:
    result = provider.query_range(query, start, end, step)
    if len(result) > 1:
        raise ConfigError(
            f"the query returned {len(result)} series; wrap it in sum(...)",
            field=f"--{name.replace('_', '-')}",
        )
    points = result[0][1] if result else []
    return {t: v for t, v in points if not math.isnan(v) and not math.isinf(v)}


def judge_range(
    provider: MetricsProvider,
    queries: dict[str, str],
    start: datetime,
    end: datetime,
    step: float,
    alpha: float = 0.01,
) -> Judgement:
    series = {k: _series(provider, k, queries[k], start, end, step) for k in KEYS}
    times = sorted(set().union(*(s.keys() for s in series.values())))
    judge = count_judge("sequential", alpha=alpha)
    totals = dict.fromkeys(KEYS, 0)
    for t in times:
        counts = {k: max(0, round(series[k].get(t, 0.0))) for k in KEYS}
        counts["canary_errors"] = min(counts["canary_errors"], counts["canary_requests"])
        counts["baseline_errors"] = min(counts["baseline_errors"], counts["baseline_requests"])
        for k in KEYS:
            totals[k] += counts[k]
        if judge.update(**counts) == "fail":
            return Judgement("fail", len(times), t, totals, alpha)
    return Judgement("pass", len(times), None, totals, alpha)
