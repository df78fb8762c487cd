"""The interface every metrics backend implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Sample:
    """One series' value. ``value`` may be NaN or ±Inf: the caller decides what those mean."""

    labels: dict[str, str] = field(default_factory=dict)
    value: float = 0.0


@dataclass(frozen=True)
class QueryResult:
    """What one instant query returned; an empty ``samples`` tuple is "no data"."""

    query: str
    samples: tuple[Sample, ...] = ()


class MetricsProvider(Protocol):
    """Runs instant and range queries. Raises ProviderUnavailable / ProviderRejected."""

    name: str

    def query(self, query: str, at: datetime | None = None) -> QueryResult: ...

    def query_range(
        self, query: str, start: datetime, end: datetime, step_seconds: float
    ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        """Each series' labels and its (unix time, value) points."""
        ...

    def close(self) -> None: ...
