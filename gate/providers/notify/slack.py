"""Slack incoming webhooks (the URL is a secret: it comes from an environment variable)."""

from __future__ import annotations

import httpx

from gate.errors import ProviderRejected, ProviderUnavailable
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
        self._client = httpx.Client(timeout=timeout, verify=True, transport=transport)

    def send(self, event: Event) -> None:
        text = (
            f"{ICON[event.kind]} *gate rollout {event.rollout}* ({event.service}): {event.message}"
        )
        if event.kind is EventKind.ROLLBACK_FAILED:
            text = "<!channel> " + text
        try:
            response = self._client.post(self._url, json={"text": text})
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{type(exc).__name__}", provider="slack") from exc
        if response.status_code != 200:
            raise ProviderRejected(
                f"HTTP {response.status_code}: {response.text[:100]}", provider="slack"
            )

    def close(self) -> None:
        self._client.close()
