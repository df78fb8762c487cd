"""PagerDuty Events API v2: trigger on a rollback (or a failed one), resolve on promotion.

One ``dedup_key`` per rollout run, so the promotion of a later run does not resolve an earlier
run's alert by accident and repeated rollback events don't open new incidents.
"""

from __future__ import annotations

import httpx

from gate.providers.http import HttpClient
from gate.providers.notify.interface import Event, EventKind
from gate.providers.notify.settings import PAGERDUTY_EVENTS_URL as EVENTS_URL


class PagerDutyNotifier:
    name = "pagerduty"

    def __init__(
        self,
        *,
        routing_key: str,
        run_id: str,
        url: str = EVENTS_URL,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._key = routing_key
        self._run = run_id
        self._url = url
        self._http = HttpClient(self.name, timeout=timeout, retries=2, transport=transport)

    def dedup_key(self, event: Event) -> str:
        return f"gate/{event.rollout}/{self._run}"

    def send(self, event: Event) -> None:
        if event.kind in (EventKind.ROLLED_BACK, EventKind.ROLLBACK_FAILED):
            body = {
                "routing_key": self._key,
                "event_action": "trigger",
                "dedup_key": self.dedup_key(event),
                "payload": {
                    "summary": f"gate rollout {event.rollout}: {event.message}"[:1024],
                    "source": f"gate/{event.service}",
                    "severity": "critical" if event.kind is EventKind.ROLLBACK_FAILED else "error",
                    "component": event.service,
                    "custom_details": {
                        "weight": event.weight,
                        "stage": event.stage,
                        **event.details,
                    },
                },
            }
        elif event.kind is EventKind.PROMOTED:
            body = {
                "routing_key": self._key,
                "event_action": "resolve",
                "dedup_key": self.dedup_key(event),
            }
        else:
            return
        self._http.request("POST", self._url, json_body=body)

    def close(self) -> None:
        self._http.close()
