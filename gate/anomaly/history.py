"""Reading a metric and its history through a metrics provider, then judging it.

The same query is run as a range query over the judged period and over that period shifted
back by 1 … N seasons — what PromQL's ``offset 1w`` does for every selector of a query, but
without rewriting the user's PromQL, and with the shift taken on the settings' clock, so that
"the same time last week" stays 10:00 across a daylight-saving change. N + 1 small range
queries per judgement.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from gate.anomaly.detector import SEASON_SECONDS, AnomalySettings, Assessment, Window, evaluate
from gate.providers.metrics.interface import MetricsProvider


def season_shift(at: datetime, k: int, settings: AnomalySettings) -> float:
    """Seconds between ``at`` and the same local time ``k`` seasons earlier."""
    zone = ZoneInfo(settings.timezone)
    local = at.astimezone(zone).replace(tzinfo=None)
    days = k * SEASON_SECONDS[settings.season] / 86400
    earlier = (local - timedelta(days=days)).replace(tzinfo=zone)
    return (at - earlier.astimezone(UTC)).total_seconds()


def grid(settings: AnomalySettings, at: datetime, since: datetime | None) -> tuple[float, int]:
    """The first time of the judged period and the index where the deploy starts (0: none)."""
    end = at.timestamp()
    step = settings.step
    if since is None:
        return end - math.floor(settings.current / step) * step, 0
    after = max(0, math.floor((end - since.timestamp()) / step))
    before = math.floor(settings.baseline / step)
    return end - (after + before) * step, before


def _points(
    provider: MetricsProvider, query: str, start: float, count: int, step: float
) -> tuple[float | None, ...]:
    series = provider.query_range(
        query,
        datetime.fromtimestamp(start, UTC),
        datetime.fromtimestamp(start + (count - 1) * step, UTC),
        step,
    )
    if len(series) > 1:
        raise ValueError(
            f"the query returned {len(series)} series; aggregate it in PromQL (sum, max)"
        )
    out: list[float | None] = [None] * count
    for t, v in series[0][1] if series else []:
        i = round((t - start) / step)
        if 0 <= i < count:
            out[i] = v
    return tuple(out)


def fetch(
    provider: MetricsProvider,
    settings: AnomalySettings,
    at: datetime,
    since: datetime | None = None,
) -> Window:
    """The window :func:`gate.anomaly.detector.evaluate` judges, read through ``provider``."""
    start, split = grid(settings, at, since)
    step = settings.step
    count = round((at.timestamp() - start) / step) + 1
    pad = round(settings.smooth / step)
    times = tuple(start + i * step for i in range(count))
    values = _points(provider, settings.query, start, count, step)
    history = tuple(
        _points(
            provider,
            settings.query,
            start - pad * step - season_shift(at, k, settings),
            count + 2 * pad,
            step,
        )
        for k in range(1, settings.seasons + 1)
    )
    return Window(times, values, history, split, pad)


def assess(
    provider: MetricsProvider,
    settings: AnomalySettings,
    at: datetime,
    since: datetime | None = None,
) -> Assessment:
    """Is the metric anomalous at ``at``? With ``since`` (the deploy's start) the period before
    it sets today's level and everything after it is judged; without, the last
    ``settings.current`` seconds are judged against history alone.

    Raises ProviderError from the provider and ValueError for a query returning several series.
    """
    return evaluate(settings, fetch(provider, settings, at, since))
