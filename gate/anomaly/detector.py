"""The anomaly detector's pure core: a metric now against its own history. No I/O here.

The model, on a log scale (so that "×1.5" is the same step at night and at the Monday peak)::

    log(y(t) + c) = s(t) + l + e(t)

* ``s(t)`` — the seasonal profile: the **median** over the past N seasons (weeks, or days) of
  the value at the same time of week. A median of four weeks ignores one week that held an
  incident or a holiday, where a mean would be dragged along; it needs no model fitting.
* ``l`` — today's level: the median residual over the pre-deploy period (``baseline``
  seconds before the deploy). It absorbs growth since the past weeks and "a busier Monday than
  usual", which would otherwise be read as an anomaly.
* ``e(t)`` — the noise, scaled by 1.4826 × its median absolute deviation (MAD) over the same
  pre-deploy residuals: a robust σ that one spike in the window cannot inflate.

The deviation after the deploy is the median residual since the deploy minus ``l``, divided
by its standard error (√(π/2) σ √(1/n + 1/m) for medians of n and m points), so it sharpens as
evidence gathers and a single noisy point cannot trip it. It is an anomaly when it passes
``sensitivity`` robust σ in the bad ``direction`` and moves the value by at least
``min_change``. Without a deploy start (a pre-deploy check: "is this metric anomalous now?")
today's level is not known to be healthy, so ``l`` is 0 and σ is the spread of each past
season around the median of the others, which includes week-to-week variation.

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
import math
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Direction = Literal["up", "down", "either"]
Season = Literal["week", "day"]

SENSITIVITY = {"low": 6.0, "medium": 4.5, "high": 3.5}  # robust σ
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

    ``values[i]`` is the metric at ``times[i]``; ``history[k][i]`` the same metric one season
    further back for each k = 0, 1, … (k = 0 is one season ago). ``split`` is the index of the
    first point after the deploy started; 0 means there is no deploy (a pre-deploy check).
    None or NaN is "no data" at that point.
    """

    times: tuple[float, ...]
    values: tuple[float | None, ...]
    history: tuple[tuple[float | None, ...], ...]
    split: int = 0

    def __post_init__(self) -> None:
        n = len(self.times)
        if len(self.values) != n or any(len(h) != n for h in self.history):
            raise ValueError("values and every history row must have one point per time")
        if not 0 <= self.split <= n:
            raise ValueError("split must index the grid")


@dataclass(frozen=True)
class Assessment:
    """The result of one judgement; ``message`` is the sentence a person reads."""

    verdict: Verdict
    message: str
    metric: str
    value: float | None = None  # the latest value
    expected: float | None = None  # what history says it should be at that time
    score: float | None = None  # robust σ, signed: + above, - below
    seasons: int = 0  # past seasons that had data
    at: datetime | None = None  # the time of the latest value

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
    seasons = sum(1 for row in window.history if sum(map(_ok, row)) * 2 >= max(len(row), 1))

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
    history = [_clean(row) for row in window.history]
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
    value, usual_now = values[latest], usual[latest]
    assert value is not None
    assert usual_now is not None
    if window.split > 0:
        base = [r for r in residual[: window.split] if r is not None]
        if len(base) * 2 < window.split:
            return inconclusive(
                f"the {window.split} points before the deploy have data at only {len(base)}; "
                "inconclusive, not a pass",
                value,
            )
        level = statistics.median(base)
        sigma = _mad_sigma(base)
        error = sigma * math.sqrt(MEDIAN_EFFICIENCY * (1 / len(test) + 1 / len(base)))
    else:
        # no deploy start: each past season around the median of the others, so that
        # week-to-week variation is part of the spread
        level = 0.0
        spread = [
            f(y) - f(statistics.median(others))
            for k, row in enumerate(history)
            for i, y in enumerate(row)
            if y is not None
            and (others := [x for j, o in enumerate(history) if j != k and (x := o[i]) is not None])
        ]
        if len(spread) < 3:
            return inconclusive("history too sparse to tell its spread; inconclusive", value)
        error = _mad_sigma(spread)
    score = (statistics.median(test) - level) / error
    expected = max(math.exp(f(usual_now) + level) - c, 0.0)
    bad = (score > settings.sensitivity and settings.direction in ("up", "either")) or (
        score < -settings.sensitivity and settings.direction in ("down", "either")
    )
    if bad and abs(value - expected) < settings.min_change:
        bad = False
    shown, usual_text = format_value(value, settings.unit), format_value(expected, settings.unit)
    side = "above" if score >= 0 else "below"
    message = (
        f"{name} {shown} is {abs(score):.1f} robust σ {side} its usual {usual_text} "
        f"for {when}, {_history_words(seasons, settings)}"
    )
    if not bad:
        message += f": normal (anomaly past {settings.sensitivity:g}σ {settings.direction})"
    return Assessment(
        Verdict.ANOMALY if bad else Verdict.NORMAL,
        message,
        name,
        value,
        expected,
        score,
        seasons,
        datetime.fromtimestamp(window.times[latest], UTC),
    )
