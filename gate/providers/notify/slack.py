"""Slack incoming webhooks (the URL is a secret: it comes from an environment variable)."""

from __future__ import annotations

import httpx

from gate.providers.http import HttpClient
from gate.providers.notify.interface import Event, EventKind

ICON = {
    EventKind.STARTED: ":rocket:",
    EventKind.STAGE_ADVANCED: ":arrow_up:",
    EventKind.PAUSED: ":double_vertical_bar:",
    EventKind.ROLLED_BACK: ":leftwards_arrow_with_hook:",
    EventKind.PROMOTED: ":white_check_mark:",
    EventKind.ROLLBACK_FAILED: ":rotating_light:",
}


class SlackNotifier:
    name = "slack"

    def __init__(
        self,
        *,
        webhook_url: str,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = webhook_url
        self._http = HttpClient(self.name, timeout=timeout, retries=2, transport=transport)

    def send(self, event: Event) -> None:
        text = (
            f"{ICON[event.kind]} *gate rollout {event.rollout}* ({event.service}): {event.message}"
        )
        if event.kind is EventKind.ROLLBACK_FAILED:
            text = "<!channel> " + text
        self._http.request("POST", self._url, json_body={"text": text})

    def close(self) -> None:
        self._http.close()
