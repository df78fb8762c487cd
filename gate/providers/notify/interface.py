"""The interface every notifier implements, and the events they carry."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol


class EventKind(enum.StrEnum):
    STARTED = "started"
    STAGE_ADVANCED = "stage-advanced"
    PAUSED = "paused"
    ROLLED_BACK = "rolled-back"
    PROMOTED = "promoted"
    ROLLBACK_FAILED = "rollback-failed"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    rollout: str
    service: str
    message: str
    weight: int = 0
    stage: int = 0
    details: dict[str, str] = field(default_factory=dict)


class Notifier(Protocol):
    name: str

    def send(self, event: Event) -> None:
        """Deliver ``event``; raise ProviderError on failure (the caller logs and goes on)."""
        ...

    def close(self) -> None: ...
