"""A flag service behind a plain HTTP endpoint: POST sets, GET reads ``{"enabled": bool}``."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from gate.errors import ProviderRejected
from gate.providers.flags.interface import FlagRef
from gate.providers.http import HttpClient
from gate.secrets import shown

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
        self._http = HttpClient(
            _NAME,
            headers=headers,
            timeout=timeout,
            retries=3,
            backoff_initial=0.2,
            backoff_max=2.0,
            transport=transport,
        )

    @staticmethod
    def _params(flag: FlagRef) -> dict[str, str]:
        return {"feature": flag.feature, "environment": flag.environment, "project": flag.project}

    def exists(self, flag: FlagRef) -> bool:
        reply = self._http.request("GET", self.url, params=self._params(flag), accept=(404,))
        return reply.status != 404

    def is_enabled(self, flag: FlagRef) -> bool:
        reply = self._http.request("GET", self.url, params=self._params(flag))
        value = reply.json_object().get("enabled")
        if not isinstance(value, bool):
            raise ProviderRejected(
                f'{flag.feature}: expected {{"enabled": true|false}}, got {shown(value, 30)}',
                provider=_NAME,
            )
        return value

    def set_enabled(self, flag: FlagRef, enabled: bool) -> None:
        self._http.request("POST", self.url, json_body={**self._params(flag), "enabled": enabled})

    def can_write(self, flag: FlagRef) -> None:
        """Read-only probe before a rollout: the flag can be read."""
        self.is_enabled(flag)

    def close(self) -> None:
        self._http.close()
