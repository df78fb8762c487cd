"""The anomaly detector's pure core: a metric now against its own history. No I/O here.

The model, on a log scale (so that "×1.5" is the same step at night and at the Monday peak)::

    log(y(t) + c) = s(t) + l + e(t)

* ``s(t)`` — the seasonal profile: the **median** over the past N seasons (weeks, or days) of
  the value at the same time of week, each season first smoothed by a running median over
  ± ``smooth`` seconds so that the expectation carries little noise of its own. A median of
  four weeks ignores one week that held an incident or a holiday, where a mean would be
  dragged along; it needs no model fitting.
* ``l`` — today's level: the median residual over the pre-deploy period (``baseline``
  seconds before the deploy). It absorbs growth since the past weeks and "a busier Monday than
  usual", which would otherwise be read as an anomaly.
* ``e(t)`` — the noise, scaled by 1.4826 × its median absolute deviation (MAD) over the same
  pre-deploy residuals: a robust σ that one spike in the window cannot inflate.

The deviation after the deploy is the median residual since the deploy minus ``l``, divided
by its standard error (√(π/2) σ √(1/n + 1/m) for medians of n and m points, widened by
(1 + ρ)/(1 − ρ) for the lag-1 autocorrelation ρ of the residuals, estimated robustly), so
it sharpens as evidence gathers and a single noisy point cannot trip it. It is an anomaly
when it passes ``sensitivity`` robust σ in the bad ``direction`` and moves the value by at
least ``min_change``. Without a deploy start (a pre-deploy check: "is this metric anomalous now?")
today's level is not known to be healthy, so ``l`` is 0 and σ is the spread of each past
season around the median of the others, which includes week-to-week variation. The same
judgement is used after a deploy whose pre-deploy period was itself anomalous by that
measure (an incident just before the deploy must not become "today's level").

Too little history — fewer than ``min_seasons`` past seasons with data at this time of week,
or a pre-deploy period mostly empty — is **inconclusive**, never normal.

Why not a seasonal decomposition (STL) or a forecast model: it needs weeks of fine-grained
points pulled over the API at every check and a fit each time, and its trend and seasonal
estimates are not robust to the outliers an incident leaves in the history unless tuned; the
same-time-of-week median needs N+1 small range queries, has a 50 % breakdown point, and says
its result in the terms an operator checks by hand. The benchmark in benchmarks/anomaly/
measures it against the plain 3-sigma z-score over a trailing hour.
"""

from __future__ import annotations

import enum
import itertools
import math
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Direction = Literal["up", "down", "either"]
Season = Literal["week", "day"]

# robust σ; medium is the default, the most sensitive setting that keeps false alarms under
# 1 % per deploy in benchmarks/anomaly (where it catches 95 % of ×1.5 shifts)
SENSITIVITY = {"low": 4.5, "medium": 3.25, "high": 3.0}
SEASON_SECONDS = {"week": 7 * 86400.0, "day": 86400.0}
MAD_TO_SIGMA = 1.4826
MEDIAN_EFFICIENCY = math.pi / 2  # variance of a median of normal data ≈ (π/2) σ² / n
SIGMA_FLOOR = 0.01  # 1 % on the log scale: a flat history cannot make σ zero
OFFSET_SHARE = 0.1  # c = 10 % of the usual level keeps zeros finite on the log scale


class Verdict(enum.StrEnum):
    NORMAL = "normal"
    ANOMALY = "anomaly"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class AnomalySettings:
    """How one metric is judged against its history. Validated on construction (ValueError)."""

    query: str
    name: str = ""  # how a sentence names the metric, e.g. "p95"; the query if empty
    unit: str = ""  # "s" (shown in ms below 1 s), "ratio" (shown as %), or a suffix
    direction: Direction = "up"  # which way is bad
    sensitivity: float = SENSITIVITY["medium"]  # robust σ a deviation must pass
    season: Season = "week"
    seasons: int = 4  # past seasons read
    min_seasons: int = 3  # fewer with data at this time: inconclusive
    baseline: float = 3600.0  # seconds of pre-deploy period that set today's level
    current: float = 600.0  # seconds judged as "now" when no deploy start is given
    step: float = 60.0  # seconds between points
    smooth: float = 300.0  # each past season is a running median over ± this many seconds
    timezone: str = "UTC"  # whose clock "the same time of week" follows (DST included)
    min_change: float = 0.0  # an anomaly must move the value by at least this much

    def __post_init__(self) -> None:
        if not self.query.strip():
            raise ValueError("query: must not be empty")
        if self.direction not in ("up", "down", "either"):
            raise ValueError("direction: must be up, down or either")
        if self.season not in SEASON_SECONDS:
            raise ValueError("season: must be week or day")
        if not self.sensitivity > 0:
            raise ValueError("sensitivity: must be a positive number of robust σ")
        if not 1 <= self.min_seasons <= self.seasons:
            raise ValueError("min_seasons: must be between 1 and seasons")
        if self.step <= 0 or self.baseline < self.step or self.current < 0:
            raise ValueError("step, baseline and current: need 0 < step <= baseline, current >= 0")
        if self.min_change < 0:
            raise ValueError("min_change: must not be negative")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from None

    @property
    def label(self) -> str:
        return self.name or self.query


@dataclass(frozen=True)
class Window:
    """The points one judgement looks at, on one grid of times.

    ``values[i]`` is the metric at ``times[i]``; ``history[k][pad + i]`` the same metric one
    season further back for each k = 0, 1, … (k = 0 is one season ago). History rows reach
    ``pad`` points further on both sides, for the running median. ``split`` is the index of
    the first point after the deploy started; 0 means there is no deploy (a pre-deploy
    check). None or NaN is "no data" at that point.
    """

    times: tuple[float, ...]
    values: tuple[float | None, ...]
    history: tuple[tuple[float | None, ...], ...]
    split: int = 0
    pad: int = 0

    def __post_init__(self) -> None:
        n = len(self.times)
        if self.pad < 0 or len(self.values) != n:
            raise ValueError("values must have one point per time")
        if any(len(h) != n + 2 * self.pad for h in self.history):
            raise ValueError("every history row must have one point per time, plus pad each side")
        if not 0 <= self.split <= n:
            raise ValueError("split must index the grid")


@dataclass(frozen=True)
class Assessment:
    """The result of one judgement; ``message`` is the sentence a person reads."""

    verdict: Verdict
    message: str
    metric: str
    value: float | None = None  # the typical (median) value over the judged points
    expected: float | None = None  # what history expected over the same points
    score: float | None = None  # robust σ, signed: + above, - below
    seasons: int = 0  # past seasons that had data
    at: datetime | None = None  # the time of the latest judged point
    evidence: float | None = None  # the score in the bad direction / sensitivity: >= 1 fails

    @property
    def failed(self) -> bool:
        return self.verdict is Verdict.ANOMALY


def _ok(x: float | None) -> bool:
    return x is not None and not math.isnan(x) and not math.isinf(x)


def _clean(row: tuple[float | None, ...]) -> list[float | None]:
    return [float(x) if x is not None and _ok(x) else None for x in row]


def _mad_sigma(xs: list[float]) -> float:
    mid = statistics.median(xs)
    return max(MAD_TO_SIGMA * statistics.median(abs(x - mid) for x in xs), SIGMA_FLOOR)


def _running_median(row: list[float | None], pad: int) -> list[float | None]:
    """Centred running median of width 2·pad + 1 (a row ``2·pad`` longer than the result);
    None where fewer than pad + 1 of the points have data."""
    out: list[float | None] = []
    for i in range(len(row) - 2 * pad):
        near = [x for x in row[i : i + 2 * pad + 1] if x is not None]
        out.append(statistics.median(near) if len(near) > pad else None)
    return out


def _lag1(series: list[float | None], sigma: float | None) -> float:
    """A robust lag-1 autocorrelation: for a stationary series var(x[t] - x[t-1]) is
    2σ²(1 - ρ), and both variances are taken from MADs. Clipped to [0, 0.9]."""
    diffs = [b - a for a, b in itertools.pairwise(series) if a is not None and b is not None]
    if len(diffs) < 3:
        return 0.0
    if sigma is None:
        sigma = _mad_sigma([x for x in series if x is not None])
    rho = 1 - _mad_sigma(diffs) ** 2 / (2 * sigma * sigma)
    return min(max(rho, 0.0), 0.9)


def format_value(value: float, unit: str) -> str:
    """``0.412`` with unit ``s`` → ``412 ms``; ``0.031`` with ``ratio`` → ``3.1%``."""
    if unit == "s":
        return f"{value * 1000:.3g} ms" if abs(value) < 1 else f"{value:.3g} s"
    if unit == "ratio":
        return f"{value * 100:.3g}%"
    if unit == "%":
        return f"{value:.3g}%"
    return f"{value:.4g}{' ' + unit if unit else ''}"


def phase(at: datetime, settings: AnomalySettings) -> str:
    """``Monday 10:00`` (weekly) or ``10:00`` (daily), on the settings' clock."""
    local = at.astimezone(ZoneInfo(settings.timezone))
    clock = f"{local:%H:%M}" + ("" if settings.timezone == "UTC" else f" {settings.timezone}")
    return f"{local:%A} {clock}" if settings.season == "week" else clock


def _history_words(n: int, settings: AnomalySettings) -> str:
    return f"{n} {settings.season}{'' if n == 1 else 's'} of history"


def evaluate(settings: AnomalySettings, window: Window) -> Assessment:
    """Judge the window's latest values against its history (see the module docstring)."""
    name = settings.label
    if not window.times:
        return Assessment(Verdict.INCONCLUSIVE, f"{name}: no points to judge", name)
    last_at = datetime.fromtimestamp(window.times[-1], UTC)
    when = phase(last_at, settings)
    test_from = window.split if window.split > 0 else 0
    # a past season counts when it has data for at least half of the points
    seasons = sum(
        1
        for row in window.history
        if sum(map(_ok, row[window.pad : len(row) - window.pad])) * 2 >= len(window.times)
    )

    def inconclusive(why: str, value: float | None = None) -> Assessment:
        return Assessment(
            Verdict.INCONCLUSIVE, f"{name}: {why}", name, value, seasons=seasons, at=last_at
        )

    if seasons < settings.min_seasons:
        return inconclusive(
            f"only {_history_words(seasons, settings)} at {when} "
            f"(needs {settings.min_seasons}); inconclusive, not a pass"
        )
    values = _clean(window.values)
    raw = [_clean(row) for row in window.history]
    history = [_running_median(row, window.pad) for row in raw]
    usual: list[float | None] = []
    for i in range(len(window.times)):
        past = [x for row in history if (x := row[i]) is not None]
        usual.append(statistics.median(past) if len(past) >= settings.min_seasons else None)
    levels = [u for u in usual if u is not None and u > 0]
    c = OFFSET_SHARE * statistics.median(levels) if levels else 1e-9

    def f(y: float) -> float:
        return math.log(max(y, 0.0) + c)

    residual = [
        f(y) - f(u) if y is not None and u is not None else None
        for y, u in zip(values, usual, strict=True)
    ]
    test = [r for r in residual[test_from:] if r is not None]
    latest = next(
        (i for i in reversed(range(test_from, len(values))) if residual[i] is not None), None
    )
    if not test or latest is None:
        return inconclusive(f"no data now to compare with {_history_words(seasons, settings)}")
    now = values[latest]
    # each past season around the median of the others: how history itself scatters
    inner = slice(window.pad, window.pad + len(window.times))
    loo = [
        [
            f(y) - f(statistics.median(others))
            if y is not None
            and (others := [x for j, o in enumerate(history) if j != k and (x := o[i]) is not None])
            else None
            for i, y in enumerate(row[inner])
        ]
        for k, row in enumerate(raw)
    ]
    spread = [x for row in loo for x in row if x is not None]
    if len(spread) < 3:
        return inconclusive("history too sparse to tell its spread; inconclusive", now)
    # without a deploy start today's level is not known to be healthy: level 0, and the
    # spread of past seasons, which includes week-to-week variation
    level, error, note = 0.0, _mad_sigma(spread), ""
    if window.split > 0:
        base = [r for r in residual[: window.split] if r is not None]
        if len(base) * 2 < window.split:
            return inconclusive(
                f"the {window.split} points before the deploy have data at only {len(base)}; "
                "inconclusive, not a pass",
                now,
            )
        if abs(statistics.median(base)) > settings.sensitivity * error:
            note = " (before the deploy it was already unusual: judged against history alone)"
        else:
            level = statistics.median(base)
            sigma = _mad_sigma(base)
            # neighbouring points move together (a rate over 5 minutes, say): fewer
            # independent points than points, by (1 + ρ) / (1 - ρ) for the lag-1
            # correlation ρ, estimated on the pre-deploy residuals and on each past
            # season's (the median of them)
            rho = statistics.median(
                [_lag1(residual[: window.split], sigma)]
                + [_lag1(row[: window.split], None) for row in loo]
            )
            inflation = (1 + rho) / (1 - rho)
            error = sigma * math.sqrt(
                MEDIAN_EFFICIENCY * inflation * (1 / len(test) + 1 / len(base))
            )
    score = (statistics.median(test) - level) / error
    # what a person compares: the typical value over the judged points and what history
    # (at today's level) expected over the same points
    judged = [
        (y, u)
        for y, u in zip(values[test_from:], usual[test_from:], strict=True)
        if y is not None and u is not None
    ]
    value = statistics.median(y for y, _ in judged)
    expected = max(statistics.median(math.exp(f(u) + level) - c for _, u in judged), 0.0)
    toward_bad = {"up": score, "down": -score, "either": abs(score)}[settings.direction]
    worse = toward_bad > 0
    far = abs(score) > settings.sensitivity
    moved = abs(value - expected) >= settings.min_change
    bad = worse and far and moved
    shown, usual_text = format_value(value, settings.unit), format_value(expected, settings.unit)
    context = f"for {when}, {_history_words(seasons, settings)}{note}"
    side = "above" if score > 0 else "below"
    if bad:
        message = (
            f"{name} {shown} is {abs(score):.1f} robust σ {side} its usual {usual_text} {context}"
        )
    elif not far:
        message = (
            f"{name} {shown} is within {abs(score):.1f} robust σ of its usual {usual_text} "
            f"{context}: normal (anomaly past {settings.sensitivity:g}σ {settings.direction})"
        )
    else:
        why = (
            f"it moved less than {format_value(settings.min_change, settings.unit)}"
            if worse
            else f"only {settings.direction} is an anomaly"
        )
        message = (
            f"{name} {shown} is {abs(score):.1f} robust σ {side} its usual {usual_text} "
            f"{context}: normal ({why})"
        )
    return Assessment(
        Verdict.ANOMALY if bad else Verdict.NORMAL,
        message,
        name,
        value,
        expected,
        score,
        seasons,
        datetime.fromtimestamp(window.times[latest], UTC),
        max(toward_bad, 0.0) / settings.sensitivity,
    )
