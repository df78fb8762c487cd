"""A flag service behind a plain HTTP endpoint: POST sets, GET reads ``{"enabled": bool}``."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from gate.errors import ProviderRejected, ProviderUnavailable
from gate.providers import http_retry
from gate.providers.flags.interface import FlagRef

_NAME = "webhook"


class WebhookFlagProvider:
    name = _NAME

    def __init__(
        self,
        *,
        url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self._where = http_retry.redact_url(url)
        self._backoff = http_retry.Backoff(retries=3, initial=0.2, maximum=2.0)
        self._client = httpx.Client(
            timeout=timeout,
            verify=True,
            headers=dict(headers or {}),
            transport=transport,
            follow_redirects=False,
        )

    def _send(self, method: str, flag: FlagRef, enabled: bool | None = None) -> httpx.Response:
        params = {"feature": flag.feature, "environment": flag.environment, "project": flag.project}
        try:
            response = http_retry.send(
                lambda: self._client.request(
                    method,
                    self.url,
                    params=params if enabled is None else None,
                    json=None if enabled is None else {**params, "enabled": enabled},
                ),
                self._backoff,
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"{self._where}: {http_retry.describe_transport_error(exc)}", provider=_NAME
            ) from exc
        if response.status_code >= 500:
            raise ProviderUnavailable(f"{self._where}: HTTP {response.status_code}", provider=_NAME)
        return response

    def exists(self, flag: FlagRef) -> bool:
        return self._send("GET", flag).status_code == 200

    def is_enabled(self, flag: FlagRef) -> bool:
        response = self._send("GET", flag)
        if response.status_code != 200:
            raise ProviderRejected(f"{flag.feature}: HTTP {response.status_code}", provider=_NAME)
        try:
            return bool(response.json()["enabled"])
        except (ValueError, KeyError, TypeError):
            raise ProviderRejected(
                f'{flag.feature}: expected {{"enabled": true|false}}', provider=_NAME
            ) from None

    def set_enabled(self, flag: FlagRef, enabled: bool) -> None:
        response = self._send("POST", flag, enabled)
        if not 200 <= response.status_code < 300:
            raise ProviderRejected(f"{flag.feature}: HTTP {response.status_code}", provider=_NAME)

    def close(self) -> None:
        self._client.close()
