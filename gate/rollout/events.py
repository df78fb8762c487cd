"""What the controller reports as it goes; the CLI renders these, notifiers forward them."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gate.rollout.analysis import Measurement


class EventKind(enum.StrEnum):
    STARTED = "started"
    WEIGHT = "weight"
    MEASURED = "measured"
    STAGE_ADVANCED = "stage-advanced"
    PAUSED = "paused"
    RESUMED = "resumed"
    ROLLING_BACK = "rolling-back"
    ROLLED_BACK = "rolled-back"
    PROMOTED = "promoted"
    ROLLBACK_FAILED = "rollback-failed"
    HOOK = "hook"
    WARNING = "warning"
    INTERRUPTED = "interrupted"
    TRAFFIC_RESTORED = "traffic-restored"  # stable traffic verified after a rollback


@dataclass(frozen=True)
class RolloutEvent:
    kind: EventKind
    rollout: str
    message: str
    stage: int = 0
    stages: int = 0
    weight: int | None = None
    remaining: float | None = None
    measurements: tuple[Measurement, ...] = ()
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


EventSink = Callable[[RolloutEvent], None]


def fan_out(*sinks: EventSink) -> EventSink:
    """One sink that hands each event to every sink; a failing sink never stops the others."""

    def emit(event: RolloutEvent) -> None:
        for sink in sinks:
            try:
                sink(event)
            except Exception:  # noqa: BLE001, S112 - reporting must never break a rollback
                continue

    return emit
