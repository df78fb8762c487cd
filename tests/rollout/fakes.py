"""Fakes of gate's own interfaces for the rollout core: metrics, router, clock."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from gate.config.loader import load_text
from gate.errors import ProviderRejected, ProviderUnavailable
from gate.providers.metrics.interface import QueryResult, Sample
from gate.rollout.controller import Controller
from gate.rollout.events import RolloutEvent
from gate.rollout.journal import Journal
from gate.rollout.spec import RolloutSpec, parse_rollout

Answer = float | None | Exception | list[float]


class FakeMetrics:
    """Answers each query from a function of (query, call number); None means no series."""

    name = "fake"

    def __init__(self, answer: Callable[[str, int], Answer]) -> None:
        self.answer = answer
        self.calls: list[str] = []

    def query(self, query: str, at: datetime | None = None) -> QueryResult:
        self.calls.append(query)
        value = self.answer(query, len(self.calls))
        if isinstance(value, Exception):
            raise value
        if value is None:
            return QueryResult(query, ())
        values = value if isinstance(value, list) else [value]
        return QueryResult(query, tuple(Sample({"i": str(i)}, v) for i, v in enumerate(values)))

    def query_range(
        self, query: str, start: datetime, end: datetime, step_seconds: float
    ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        return []

    def close(self) -> None:
        pass


class FakeRouter:
    name = "fake"

    def __init__(self, *, fail_sets: int = 0, stuck_at: int | None = None) -> None:
        self.weight = 0
        self.history: list[int] = []
        self.fail_sets = fail_sets
        self.stuck_at = stuck_at

    def set_canary_weight(self, percent: int) -> None:
        if self.fail_sets > 0:
            self.fail_sets -= 1
            raise ProviderUnavailable("admin socket refused", provider="fake")
        if self.stuck_at is not None:
            raise ProviderUnavailable("router is down", provider="fake")
        self.weight = percent
        self.history.append(percent)

    def canary_weight(self) -> int | None:
        return self.weight

    def describe(self) -> str:
        return "fake router"

    def close(self) -> None:
        pass


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.001)


BASE: dict[str, Any] = {
    "apiVersion": "gate/v1",
    "kind": "Rollout",
    "metadata": {"name": "checkout", "service": "checkout"},
    "spec": {
        "traffic": {"provider": "dryrun"},
        "metrics": {"provider": "prometheus", "url": "http://127.0.0.1:9"},
        "stages": [
            {"weight": 1, "duration": "60s"},
            {"weight": 5, "duration": "60s"},
            {"weight": 25, "duration": "60s"},
            {"weight": 100},
        ],
        "analysis": {
            "interval": "10s",
            "metrics": [
                {"name": "error-rate", "query": 'errors{service="{{ service }}"}', "max": 0.05}
            ],
        },
    },
}


def spec(**changes: Any) -> RolloutSpec:
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        node = data["spec"]
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return parse_rollout(load_text(yaml.safe_dump(data, sort_keys=False), "rollout.yaml"))


def controller(
    tmp_path: Path,
    s: RolloutSpec,
    metrics: FakeMetrics,
    router: FakeRouter | None = None,
    **kw: Any,
) -> tuple[Controller, list[RolloutEvent]]:
    events: list[RolloutEvent] = []
    clock = FakeClock()
    c = Controller(
        spec=s,
        router=router or FakeRouter(),
        metrics=metrics,
        journal=Journal(tmp_path / "state", s.name),
        emit=events.append,
        clock=clock,
        sleep=clock.sleep,
        **kw,
    )
    return c, events


def rejected(message: str = "bad_data: parse error") -> ProviderRejected:
    return ProviderRejected(message, provider="prometheus")


class FakeKillSwitches:
    """The rollout's kill switches: each call of turn_off is recorded; ``still_on`` stay on."""

    def __init__(self, still_on: list[str] | None = None, unreachable: list[str] | None = None):
        self.still_on = list(still_on or [])
        self.unreachable = list(unreachable or [])
        self.turned_off = 0

    def turn_off(self) -> list[str]:
        self.turned_off += 1
        return list(self.still_on)

    def probe(self) -> list[str]:
        return list(self.unreachable)
