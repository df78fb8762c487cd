"""A fake metrics provider holding one seasonal series, for the detector's core tests."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime

from gate.providers.metrics.interface import QueryResult

QUERY = 'sum(rate(http_requests_total{service="checkout"}[5m]))'
MONDAY_10 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # a Monday
WEEK = 7 * 86400.0


def weekly(t: float) -> float:
    """Requests a second: a daily cycle, quiet weekends, a steep Monday-morning peak."""
    moment = datetime.fromtimestamp(t, UTC)
    hour = moment.hour + moment.minute / 60
    level = 100.0 * (1.0 + 0.6 * math.sin(2 * math.pi * (hour - 9) / 24))
    if moment.weekday() >= 5:
        level *= 0.5
    if moment.weekday() == 0 and 7 <= hour < 12:
        level *= 1.0 + 1.5 * math.sin(math.pi * (hour - 7) / 5)  # up to ×2.5 at 09:30
    return level


def noisy(t: float, sigma: float = 0.05) -> float:
    """Log-normal noise that depends only on the time (the same point reads the same)."""
    return math.exp(random.Random(int(t)).gauss(0.0, sigma))


class SeriesProvider:
    """Answers range queries for ``QUERY`` only (anything else is an error, as it would be
    for a test that asked the wrong thing) from ``value(t)``; ``None`` is a missing point."""

    name = "fake"

    def __init__(self, value: Callable[[float], float | None], query: str = QUERY) -> None:
        self.value = value
        self.query_text = query
        self.ranges: list[tuple[datetime, datetime, float]] = []

    def query(self, query: str, at: datetime | None = None) -> QueryResult:
        raise AssertionError("the detector reads ranges only")

    def query_range(
        self, query: str, start: datetime, end: datetime, step_seconds: float
    ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        if query != self.query_text:
            raise AssertionError(f"unexpected query {query!r}")
        self.ranges.append((start, end, step_seconds))
        points: list[tuple[float, float]] = []
        t = start.timestamp()
        while t <= end.timestamp() + 1e-6:
            v = self.value(t)
            if v is not None:
                points.append((t, v))
            t += step_seconds
        return [({}, points)] if points else []

    def close(self) -> None:
        pass


def seasonal(
    *,
    jump_from: float | None = None,
    factor: float = 1.0,
    history_from: float | None = None,
    outlier_week: tuple[float, float] | None = None,
) -> Callable[[float], float | None]:
    """The weekly series; × ``factor`` from ``jump_from``; nothing before ``history_from``;
    ``outlier_week = (start, factor)`` multiplies one past day by ``factor``."""

    def value(t: float) -> float | None:
        if history_from is not None and t < history_from:
            return None
        v = weekly(t) * noisy(t)
        if jump_from is not None and t >= jump_from:
            v *= factor
        if outlier_week is not None and outlier_week[0] <= t < outlier_week[0] + 86400:
            v *= outlier_week[1]
        return v

    return value
