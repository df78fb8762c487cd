"""Hand events to notifiers in the background: a notifier that fails or hangs never delays or
blocks the caller (least of all a rollback). Failures are kept as records. Every message is
redacted of secrets before it leaves."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from gate.providers.notify.interface import Event, EventKind, Notifier
from gate.secrets import redact


@dataclass(frozen=True)
class Delivery:
    notifier: str
    event: str
    ok: bool
    detail: str = ""


@dataclass
class Dispatcher:
    notifiers: Sequence[tuple[Notifier, frozenset[EventKind] | None]]
    close_timeout: float = 10.0
    deliveries: list[Delivery] = field(default_factory=list)
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(4, "notify"))
    _pending: list[Future[None]] = field(default_factory=list)

    def _deliver(self, notifier: Notifier, event: Event) -> None:
        try:
            notifier.send(event)
        except Exception as exc:  # noqa: BLE001 - a notifier never breaks a rollout
            self.deliveries.append(
                Delivery(notifier.name, event.kind.value, False, redact(f"{exc}"))
            )
        else:
            self.deliveries.append(Delivery(notifier.name, event.kind.value, True))

    def send(self, event: Event) -> None:
        clean = dataclasses.replace(
            event,
            message=redact(event.message),
            details={k: redact(v) for k, v in event.details.items()},
        )
        for notifier, wanted in self.notifiers:
            if wanted is None or event.kind in wanted:
                self._pending.append(self._pool.submit(self._deliver, notifier, clean))

    def close(self) -> None:
        """Give pending deliveries a bounded time to finish, then let go."""
        wait(self._pending, timeout=self.close_timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for notifier, _ in self.notifiers:
            notifier.close()
