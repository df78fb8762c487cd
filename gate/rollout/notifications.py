"""From rollout events to notifications: which events notifiers hear, and in what words."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from gate.providers.notify.dispatch import Dispatcher
from gate.providers.notify.interface import Event
from gate.providers.notify.interface import EventKind as NotifyKind
from gate.providers.notify.registry import PROVIDERS
from gate.providers.registry import BuildContext, Configured, build
from gate.rollout.events import EventKind, RolloutEvent

FORWARDED = {
    EventKind.STARTED: NotifyKind.STARTED,
    EventKind.STAGE_ADVANCED: NotifyKind.STAGE_ADVANCED,
    EventKind.PAUSED: NotifyKind.PAUSED,
    EventKind.ROLLED_BACK: NotifyKind.ROLLED_BACK,
    EventKind.PROMOTED: NotifyKind.PROMOTED,
    EventKind.ROLLBACK_FAILED: NotifyKind.ROLLBACK_FAILED,
}


class RolloutNotifier:
    """An event sink that forwards a rollout's milestones to its notifiers in the background."""

    def __init__(self, dispatcher: Dispatcher, service: str) -> None:
        self.dispatcher = dispatcher
        self.service = service

    def __call__(self, event: RolloutEvent) -> None:
        kind = FORWARDED.get(event.kind)
        if kind is None:
            return
        self.dispatcher.send(
            Event(
                kind=kind,
                rollout=event.rollout,
                service=self.service,
                message=event.message,
                weight=event.weight or 0,
                stage=event.stage + 1,
            )
        )

    def close(self) -> None:
        self.dispatcher.close()


def build_notifier(configs: Sequence[Configured], *, service: str, rollout: str) -> RolloutNotifier:
    """Build every notifier (reading its secrets now), closing those built if one fails."""
    context = BuildContext(service=service, rollout=rollout, run_id=uuid.uuid4().hex[:12])
    built = []
    try:
        for config in configs:
            built.append((build(PROVIDERS, config, context), config.settings.events))
    except BaseException:
        for notifier, _ in built:
            notifier.close()
        raise
    return RolloutNotifier(Dispatcher(built), service)
