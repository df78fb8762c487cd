"""Unleash, through its Admin API (a token with admin rights, from an environment variable)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from gate.errors import ProviderRejected, ProviderUnavailable
from gate.providers import http_retry
from gate.providers.flags.interface import FlagRef

_NAME = "unleash"


class UnleashProvider:
    name = _NAME

    def __init__(
        self,
        *,
        url: str,
        token: str,
        timeout: float = 10.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._where = http_retry.redact_url(self.url)
        self._backoff = http_retry.Backoff(retries=retries, initial=0.2, maximum=2.0)
        self._client = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            verify=True,
            headers={"Authorization": token, "Accept": "application/json"},
            transport=transport,
            follow_redirects=False,
        )

    def _feature_path(self, flag: FlagRef) -> str:
        return (
            f"/api/admin/projects/{quote(flag.project, safe='')}/features/"
            f"{quote(flag.feature, safe='')}"
        )

    def _send(self, method: str, path: str) -> httpx.Response:
        try:
            response = http_retry.send(lambda: self._client.request(method, path), self._backoff)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"{self._where}: {http_retry.describe_transport_error(exc)}", provider=_NAME
            ) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderUnavailable(
                f"{self._where}{path}: HTTP {response.status_code}", provider=_NAME
            )
        if response.status_code in (401, 403):
            raise ProviderRejected(
                f"{self._where}: the token was refused (HTTP {response.status_code})",
                provider=_NAME,
            )
        return response

    def _feature(self, flag: FlagRef) -> dict[str, Any] | None:
        response = self._send("GET", self._feature_path(flag))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ProviderRejected(
                f"reading {flag.feature}: HTTP {response.status_code}", provider=_NAME
            )
        data: dict[str, Any] = response.json()
        return data

    def exists(self, flag: FlagRef) -> bool:
        return self._feature(flag) is not None

    def is_enabled(self, flag: FlagRef) -> bool:
        feature = self._feature(flag)
        if feature is None:
            raise ProviderRejected(
                f"feature {flag.feature!r} not found in project {flag.project!r}", provider=_NAME
            )
        for env in feature.get("environments", []):
            if env.get("name") == flag.environment:
                return bool(env.get("enabled"))
        raise ProviderRejected(
            f"feature {flag.feature!r} has no environment {flag.environment!r}", provider=_NAME
        )

    def set_enabled(self, flag: FlagRef, enabled: bool) -> None:
        path = (
            f"{self._feature_path(flag)}/environments/{quote(flag.environment, safe='')}/"
            f"{'on' if enabled else 'off'}"
        )
        response = self._send("POST", path)
        if response.status_code == 404:
            raise ProviderRejected(
                f"feature {flag.feature!r} or environment "
                f"{flag.environment!r} not found in project {flag.project!r}",
                provider=_NAME,
            )
        if response.status_code not in (200, 202, 204):
            raise ProviderRejected(
                f"turning {flag.feature} {'on' if enabled else 'off'}: HTTP {response.status_code}",
                provider=_NAME,
            )

    def close(self) -> None:
        self._client.close()
