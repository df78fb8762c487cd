"""Kayenta's Mann-Whitney classifier for one metric, canary series x against baseline y.

Drop NaN; optionally remove outliers outside the Tukey fences (1.5 IQR); compute the confidence
interval of the location shift x − y as R's ``wilcox.test(x, y, conf.int=TRUE)`` does (exact
below 50 observations a side without ties, else the normal approximation with continuity and
tie correction); with B = 0.25·|estimate| (the effect-size tolerance) the metric is **High**
when the interval's lower end is above +B, **Low** when its upper end is below −B, else
**Pass**; no data is **Nodata**. The score of a canary is 100·Pass / (Pass + High + Low),
weighted by group; a failed critical metric or at least half the metrics without data make
it 0.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ShiftInterval:
    lower: float
    upper: float
    estimate: float


@dataclass(frozen=True)
class Classification:
    result: str  # High | Low | Pass | Nodata
    interval: ShiftInterval | None = None


def _clean(values: Sequence[float], remove_outliers: bool) -> list[float]:
    data = [v for v in values if not math.isnan(v)]
    if remove_outliers and len(data) >= 4:
        q1, _, q3 = statistics.quantiles(data, n=4, method="inclusive")
        fence = 1.5 * (q3 - q1)
        data = [v for v in data if q1 - fence <= v <= q3 + fence]
    return data


def _qwilcox(p: float, m: int, n: int) -> int:
    """The smallest q with P(U ≤ q) ≥ p for the Mann-Whitney U of sizes m, n (exact)."""
    # counts[k] = number of ways to get U = k, by the standard recurrence over sizes
    table: dict[tuple[int, int], list[int]] = {}

    def freq(i: int, j: int) -> list[int]:
        if (i, j) in table:
            return table[(i, j)]
        if i == 0 or j == 0:
            out = [1]
        else:
            a = freq(i - 1, j)  # largest value from x: adds j to U
            b = freq(i, j - 1)
            out = [0] * (i * j + 1)
            for k, c in enumerate(a):
                out[k + j] += c
            for k, c in enumerate(b):
                out[k] += c
        table[(i, j)] = out
        return out

    counts = freq(m, n)
    total = sum(counts)
    cumulative = 0
    for q, c in enumerate(counts):
        cumulative += c
        if cumulative / total >= p - 1e-12:
            return q
    return len(counts) - 1


def _average_ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _normal_quantile(p: float) -> float:
    return statistics.NormalDist().inv_cdf(p)


def shift_interval(x: Sequence[float], y: Sequence[float], confidence: float) -> ShiftInterval:
    """The confidence interval and Hodges-Lehmann-type estimate of the shift x − y."""
    m, n = len(x), len(y)
    alpha = 1 - confidence
    diffs = sorted(a - b for a in x for b in y)
    ties = len(set(x) | set(y)) < m + n
    if m < 50 and n < 50 and not ties:
        qu = _qwilcox(alpha / 2, m, n) or 1
        ql = m * n - qu
        return ShiftInterval(diffs[qu - 1], diffs[ql], statistics.median(diffs))

    def wdiff(d: float, zq: float) -> float:
        ranks = _average_ranks([a - d for a in x] + list(y))
        dz = sum(ranks[:m]) - m * (m + 1) / 2 - m * n / 2
        counts: dict[float, int] = {}
        for r in ranks:
            counts[r] = counts.get(r, 0) + 1
        tie_sum = sum(t**3 - t for t in counts.values())
        sigma = math.sqrt((m * n / 12) * ((m + n + 1) - tie_sum / ((m + n) * (m + n - 1))))
        if sigma == 0:
            raise ValueError("cannot compute the interval: every value is the same")
        correction = math.copysign(0.5, dz) if dz else 0.0
        return (dz - correction) / sigma - zq

    lo_bound, hi_bound = min(x) - max(y), max(x) - min(y)

    def root(zq: float) -> float:
        f_lo, f_hi = wdiff(lo_bound, zq), wdiff(hi_bound, zq)
        if f_lo <= 0:
            return lo_bound
        if f_hi >= 0:
            return hi_bound
        a, b = lo_bound, hi_bound
        tolerance = 1e-4 * (hi_bound - lo_bound)  # as R's uniroot, relative to the range
        while b - a > tolerance:
            mid = (a + b) / 2
            if wdiff(mid, zq) > 0:
                a = mid
            else:
                b = mid
        return (a + b) / 2

    z = _normal_quantile(1 - alpha / 2)
    return ShiftInterval(root(z), root(-z), root(0.0))


def classify(
    canary: Sequence[float],
    baseline: Sequence[float],
    *,
    confidence: float = 0.98,
    tolerance: float = 0.25,
    remove_outliers: bool = False,
    allowed_increase: float = 1.0,
) -> Classification:
    x = _clean(canary, remove_outliers)
    y = _clean(baseline, remove_outliers)
    if not x or not y:
        return Classification("Nodata")
    if len(set(x) | set(y)) == 1:
        return Classification("Pass", ShiftInterval(0.0, 0.0, 0.0))
    interval = shift_interval(x, y, confidence)
    bound = tolerance * abs(interval.estimate)
    mean_y = statistics.fmean(y)
    ratio = statistics.fmean(x) / mean_y if mean_y else math.inf
    if interval.lower > bound and ratio >= allowed_increase:
        return Classification("High", interval)
    if interval.upper < -bound:
        return Classification("Low", interval)
    return Classification("Pass", interval)


@dataclass(frozen=True)
class MetricResult:
    name: str
    result: str
    group: str = "default"
    critical: bool = False
    fail_on: tuple[str, ...] = ("High",)  # which directions are harmful for this metric


def score(results: Sequence[MetricResult], group_weights: dict[str, float] | None = None) -> float:
    """Kayenta's canary score, 0-100."""
    if not results:
        return 0.0
    nodata = sum(r.result == "Nodata" for r in results)
    if nodata * 2 >= len(results):
        return 0.0
    if any(r.critical and r.result in r.fail_on for r in results):
        return 0.0
    groups: dict[str, list[MetricResult]] = {}
    for r in results:
        groups.setdefault(r.group, []).append(r)
    weights = group_weights or dict.fromkeys(groups, 1.0)
    total_weight = sum(weights.get(g, 0.0) for g in groups)
    if total_weight == 0:
        return 0.0
    out = 0.0
    for g, members in groups.items():
        counted = [r for r in members if r.result != "Nodata"]
        passed = sum(r.result not in r.fail_on for r in counted)
        out += weights.get(g, 0.0) * (100 * passed / len(counted) if counted else 0.0)
    return out / total_weight
