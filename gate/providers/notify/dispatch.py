"""Hand rollout events to notifiers in the background: a notifier that fails or hangs never
delays or blocks the rollout (least of all a rollback). Failures are kept as records."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from gate.errors import ConfigError
from gate.providers.notify.interface import Event, EventKind, Notifier
from gate.rollout.events import RolloutEvent

KIND = {"started": EventKind.STARTED, "stage-advanced": EventKind.STAGE_ADVANCED,
        "paused": EventKind.PAUSED, "rolled-back": EventKind.ROLLED_BACK,
        "promoted": EventKind.PROMOTED, "rollback-failed": EventKind.ROLLBACK_FAILED}  # fmt: skip


@dataclass(frozen=True)
class Delivery:
    notifier: str
    event: str
    ok: bool
    detail: str = ""


@dataclass
class Dispatcher:
    notifiers: Sequence[tuple[Notifier, frozenset[EventKind] | None]]
    service: str
    close_timeout: float = 10.0
    deliveries: list[Delivery] = field(default_factory=list)
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(4, "notify"))
    _pending: list[Future[None]] = field(default_factory=list)

    def _deliver(self, notifier: Notifier, event: Event) -> None:
        try:
            notifier.send(event)
        except Exception as exc:  # noqa: BLE001 - a notifier never breaks a rollout
            self.deliveries.append(
                Delivery(notifier.name, event.kind.value, False, f"{type(exc).__name__}: {exc}")
            )
        else:
            self.deliveries.append(Delivery(notifier.name, event.kind.value, True))

    def __call__(self, event: RolloutEvent) -> None:
        kind = KIND.get(event.kind)
        if kind is None:
            return
        message = Event(
            kind=kind,
            rollout=event.rollout,
            service=self.service,
            message=event.message,
            weight=event.weight or 0,
            stage=event.stage + 1,
        )
        for notifier, wanted in self.notifiers:
            if wanted is None or kind in wanted:
                self._pending.append(self._pool.submit(self._deliver, notifier, message))

    def close(self) -> None:
        """Give pending deliveries a bounded time to finish, then let go."""
        wait(self._pending, timeout=self.close_timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for notifier, _ in self.notifiers:
            notifier.close()


def _env(settings: dict[str, Any], key: str, where: str) -> str:
    var = settings.get(key)
    if not var:
        raise ConfigError(f"the {settings['provider']} notifier needs {key}", field=where)
    value = os.environ.get(var, "")
    if not value:
        raise ConfigError(f"environment variable {var} is not set", field=f"{where}.{key}")
    return value


def build_notifier(settings: dict[str, Any], where: str, run_id: str) -> Notifier:
    kind = settings["provider"]
    if kind == "slack":
        from gate.providers.notify.slack import SlackNotifier

        return SlackNotifier(webhook_url=_env(settings, "urlEnv", where))
    if kind == "pagerduty":
        from gate.providers.notify.pagerduty import EVENTS_URL, PagerDutyNotifier

        return PagerDutyNotifier(
            routing_key=_env(settings, "routingKeyEnv", where),
            run_id=run_id,
            url=settings.get("url", EVENTS_URL),
        )
    if kind == "webhook":
        from gate.providers.notify.webhook import WebhookNotifier

        if "url" not in settings:
            raise ConfigError("the webhook notifier needs url", field=where)
        return WebhookNotifier(url=settings["url"], secret=_env(settings, "secretEnv", where))
    raise ConfigError(f"unknown notifier {kind!r}", field=f"{where}.provider")


def notifier_for(spec: Any) -> Dispatcher:
    """The dispatcher for a rollout spec's ``notifications`` (secrets checked now)."""
    run_id = uuid.uuid4().hex[:12]
    notifiers = []
    for i, config in enumerate(spec.notifications):
        settings = dict(config.settings)
        wanted = (
            frozenset(EventKind(e) for e in settings["events"]) if "events" in settings else None
        )
        notifiers.append((build_notifier(settings, f"spec.notifications[{i}]", run_id), wanted))
    return Dispatcher(notifiers, service=spec.service)
