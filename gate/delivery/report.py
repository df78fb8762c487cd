"""The delivery report's figures: per service and overall, each beside its target.

* **rollouts** — rollouts started in the period (dry runs left out); **promoted**, **rolled
  back** (rolled back, aborted, or rollback failed), **running** (not finished yet);
* **rollback rate** — rolled back / finished (target below 2 %);
* **change failure rate** — finished rollouts whose change failed: gate's analysis failed it,
  or its rollback failed (DORA's measure; aborts by hand and failed hooks are rollbacks but
  not necessarily failed changes);
* **deploy frequency** — promoted rollouts per day over the period;
* **time to detect** (target below 1 minute) and **time to restore** (target below 5
  minutes), median and 90th percentile; a target is met when the 90th percentile is below it,
  and a rollback that never restored stable traffic fails the restore target.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gate.delivery.rollouts import Rollout

TARGET_DETECT = 60.0
TARGET_RESTORE = 300.0
TARGET_ROLLBACK_RATE = 0.02


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Durations:
    count: int
    median: float | None
    p90: float | None
    target: float
    missing: int = 0  # events that should have a duration but never ended (not restored)

    @property
    def met(self) -> bool | None:
        if self.missing:
            return False
        return None if self.p90 is None else self.p90 < self.target

    @classmethod
    def of(cls, values: Sequence[float], target: float, missing: int = 0) -> Durations:
        median = statistics.median(values) if values else None
        return cls(len(values), median, percentile(values, 0.9), target, missing)


@dataclass(frozen=True)
class Figures:
    rollouts: int
    promoted: int
    rolled_back: int
    running: int
    failed_changes: int
    days: float
    detect: Durations
    restore: Durations

    @property
    def finished(self) -> int:
        return self.promoted + self.rolled_back

    @property
    def rollback_rate(self) -> float | None:
        return self.rolled_back / self.finished if self.finished else None

    @property
    def change_failure_rate(self) -> float | None:
        return self.failed_changes / self.finished if self.finished else None

    @property
    def deploys_per_day(self) -> float:
        return self.promoted / self.days if self.days > 0 else 0.0

    @property
    def rollback_rate_met(self) -> bool | None:
        rate = self.rollback_rate
        return None if rate is None else rate < TARGET_ROLLBACK_RATE


def figures(rollouts: Sequence[Rollout], days: float) -> Figures:
    rolled_back = [r for r in rollouts if r.rolled_back]
    return Figures(
        rollouts=len(rollouts),
        promoted=sum(r.promoted for r in rollouts),
        rolled_back=len(rolled_back),
        running=sum(not r.finished for r in rollouts),
        failed_changes=sum(
            r.finished and (r.analysis_failed or r.status == "rollback-failed") for r in rollouts
        ),
        days=days,
        detect=Durations.of(
            [d for r in rollouts if (d := r.detect_seconds) is not None], TARGET_DETECT
        ),
        restore=Durations.of(
            [d for r in rolled_back if (d := r.restore_seconds) is not None],
            TARGET_RESTORE,
            missing=sum(r.restore_seconds is None for r in rolled_back if r.decided_at),
        ),
    )


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    overall: Figures
    services: dict[str, Figures]
    rollouts: tuple[Rollout, ...]
    unreadable: tuple[tuple[str, str], ...] = ()  # (name, why): journals that could not be read


def build(
    rollouts: Sequence[Rollout],
    *,
    now: datetime,
    period: timedelta,
    service: str | None = None,
    unreadable: Sequence[tuple[str, str]] = (),
) -> Report:
    """The report over rollouts started in ``period`` before ``now`` (one ``service`` or all)."""
    since = now - period
    chosen = [
        r
        for r in rollouts
        if r.started >= since and r.started <= now and (service is None or r.service == service)
    ]
    days = period.total_seconds() / 86400
    services = {
        name: figures([r for r in chosen if r.service == name], days)
        for name in sorted({r.service for r in chosen})
    }
    return Report(since, now, figures(chosen, days), services, tuple(chosen), tuple(unreadable))
