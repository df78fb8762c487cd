"""LaunchDarkly, through its REST API with semantic patches (turnFlagOn / turnFlagOff)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from gate.errors import ProviderRejected, ProviderUnavailable
from gate.providers import http_retry
from gate.providers.flags.interface import FlagRef

_NAME = "launchdarkly"
API_VERSION = "20240415"
SEMANTIC_PATCH = "application/json; domain-model=launchdarkly.semanticpatch"
DEFAULT_URL = "https://app.launchdarkly.com"


class LaunchDarklyProvider:
    name = _NAME

    def __init__(
        self,
        *,
        token: str,
        url: str = DEFAULT_URL,
        timeout: float = 10.0,
        retries: int = 3,
        conflict_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._where = http_retry.redact_url(url)
        self._backoff = http_retry.Backoff(retries=retries, initial=0.5, maximum=8.0)
        self._conflict_retries = conflict_retries
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=url.rstrip("/"),
            timeout=timeout,
            verify=True,
            transport=transport,
            follow_redirects=False,
            headers={"Authorization": token, "LD-API-Version": API_VERSION},
        )

    @staticmethod
    def _path(flag: FlagRef) -> str:
        return f"/api/v2/flags/{quote(flag.project, safe='')}/{quote(flag.feature, safe='')}"

    def _send(self, request: Callable[[], httpx.Response]) -> httpx.Response:
        try:
            response = http_retry.send(request, self._backoff, sleep=self._sleep)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"{self._where}: {http_retry.describe_transport_error(exc)}", provider=_NAME
            ) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderUnavailable(
                f"{self._where}: HTTP {response.status_code} after retries", provider=_NAME
            )
        if response.status_code in (401, 403):
            raise ProviderRejected(
                f"the access token was refused (HTTP {response.status_code})", provider=_NAME
            )
        return response

    def _flag(self, flag: FlagRef) -> dict[str, Any] | None:
        response = self._send(
            lambda: self._client.get(self._path(flag), params={"env": flag.environment})
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ProviderRejected(
                f"reading {flag.feature}: HTTP {response.status_code}", provider=_NAME
            )
        data: dict[str, Any] = response.json()
        return data

    def exists(self, flag: FlagRef) -> bool:
        return self._flag(flag) is not None

    def is_enabled(self, flag: FlagRef) -> bool:
        data = self._flag(flag)
        if data is None:
            raise ProviderRejected(
                f"flag {flag.feature!r} not found in project {flag.project!r}", provider=_NAME
            )
        env = data.get("environments", {}).get(flag.environment)
        if env is None:
            raise ProviderRejected(
                f"flag {flag.feature!r} has no environment {flag.environment!r}", provider=_NAME
            )
        return bool(env.get("on"))

    def set_enabled(self, flag: FlagRef, enabled: bool) -> None:
        body = {
            "environmentKey": flag.environment,
            "instructions": [{"kind": "turnFlagOn" if enabled else "turnFlagOff"}],
        }
        for attempt in range(self._conflict_retries + 1):
            response = self._send(
                lambda: self._client.patch(
                    self._path(flag), json=body, headers={"Content-Type": SEMANTIC_PATCH}
                )
            )
            if response.status_code != 409:
                break
            self._sleep(0.5 * 2**attempt)
        if response.status_code == 404:
            raise ProviderRejected(
                f"flag {flag.feature!r} not found in project {flag.project!r}", provider=_NAME
            )
        if response.status_code == 409:
            raise ProviderUnavailable(
                f"{flag.feature}: still conflicting (HTTP 409) after "
                f"{self._conflict_retries} retries",
                provider=_NAME,
            )
        if not 200 <= response.status_code < 300:
            raise ProviderRejected(f"{flag.feature}: HTTP {response.status_code}", provider=_NAME)

    def close(self) -> None:
        self._client.close()
