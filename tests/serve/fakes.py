"""Fakes of gate's own interfaces for the server's tests (strict: they answer only what they
were set up to answer)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from gate.errors import ProviderError
from gate.providers.metrics.interface import QueryResult

Series = list[tuple[dict[str, str], list[tuple[float, float]]]]


class RangeMetrics:
    """A MetricsProvider whose range queries are answered per query from ``per_step(query, t)``
    (None: no point at ``t``; a query it does not know fails the test)."""

    name = "fake"

    def __init__(
        self,
        per_step: dict[str, Callable[[float], float | None]],
        *,
        error: ProviderError | None = None,
    ) -> None:
        self.per_step = per_step
        self.error = error
        self.calls: list[tuple[str, float, float, float]] = []
        self.closed = False

    def query(self, query: str, at: datetime | None = None) -> QueryResult:
        raise AssertionError(f"unexpected instant query {query!r}")

    def query_range(
        self, query: str, start: datetime, end: datetime, step_seconds: float
    ) -> Series:
        if self.error is not None:
            raise self.error
        if query not in self.per_step:
            raise AssertionError(f"unexpected range query {query!r}")
        self.calls.append((query, start.timestamp(), end.timestamp(), step_seconds))
        f = self.per_step[query]
        points: list[tuple[float, float]] = []
        t = start.timestamp()
        while t <= end.timestamp():
            value = f(t)
            if value is not None:
                points.append((t, value))
            t += step_seconds
        return [({}, points)] if points else []

    def close(self) -> None:
        self.closed = True


class RecordedRollbacks:
    """Rollback requests as the shared state store would hold them."""

    def __init__(self, requests: dict[str, str]) -> None:
        self.requests = requests

    def requested(self, namespace: str, name: str) -> str | None:
        return self.requests.get(f"{namespace}/{name}")
