"""LaunchDarkly, through its REST API with semantic patches (turnFlagOn / turnFlagOff).

``PATCH /api/v2/flags/{project}/{flag}`` with ``Content-Type: application/json;
domain-model=launchdarkly.semanticpatch``; 409 (a concurrent change) is retried; 429 honours
``Retry-After`` within the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from gate.errors import ProviderRejected, ProviderUnavailable
from gate.providers.flags.interface import FlagRef
from gate.providers.http import HttpClient
from gate.secrets import shown

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
        self._conflict_retries = conflict_retries
        self._sleep = sleep
        self._http = HttpClient(
            _NAME,
            base_url=url.rstrip("/"),
            headers={"Authorization": token, "LD-API-Version": API_VERSION},
            timeout=timeout,
            retries=retries,
            transport=transport,
            sleep=sleep,
        )

    @staticmethod
    def _path(flag: FlagRef) -> str:
        return f"/api/v2/flags/{quote(flag.project, safe='')}/{quote(flag.feature, safe='')}"

    def _flag(self, flag: FlagRef) -> dict[str, Any] | None:
        reply = self._http.request(
            "GET", self._path(flag), params={"env": flag.environment}, accept=(404,)
        )
        if reply.status == 404:
            return None
        return reply.json_object()

    def exists(self, flag: FlagRef) -> bool:
        data = self._flag(flag)
        return data is not None and self._environment(data, flag) is not None

    @staticmethod
    def _environment(data: dict[str, Any], flag: FlagRef) -> dict[str, Any] | None:
        environments = data.get("environments")
        if not isinstance(environments, dict):
            raise ProviderRejected(
                f"flag {flag.feature!r}: the answer has no environments", provider=_NAME
            )
        env = environments.get(flag.environment)
        return env if isinstance(env, dict) else None

    def is_enabled(self, flag: FlagRef) -> bool:
        data = self._flag(flag)
        if data is None:
            raise ProviderRejected(
                f"flag {flag.feature!r} not found in project {flag.project!r}", provider=_NAME
            )
        env = self._environment(data, flag)
        if env is None:
            raise ProviderRejected(
                f"flag {flag.feature!r} has no environment {flag.environment!r}", provider=_NAME
            )
        on = env.get("on")
        if not isinstance(on, bool):
            raise ProviderRejected(
                f"flag {flag.feature!r}: 'on' is {shown(on, 30)}, not true or false", provider=_NAME
            )
        return on

    def set_enabled(self, flag: FlagRef, enabled: bool) -> None:
        body = {
            "environmentKey": flag.environment,
            "instructions": [{"kind": "turnFlagOn" if enabled else "turnFlagOff"}],
        }
        for attempt in range(self._conflict_retries + 1):
            reply = self._http.request(
                "PATCH",
                self._path(flag),
                json_body=body,
                headers={"Content-Type": SEMANTIC_PATCH},
                accept=(404, 409),
            )
            if reply.status != 409:
                break
            if attempt < self._conflict_retries:
                self._sleep(0.5 * 2**attempt)
        if reply.status == 404:
            raise ProviderRejected(
                f"flag {flag.feature!r} not found in project {flag.project!r}", provider=_NAME
            )
        if reply.status == 409:
            raise ProviderUnavailable(
                f"{flag.feature}: still conflicting (HTTP 409) after "
                f"{self._conflict_retries} retries",
                provider=_NAME,
            )

    def can_write(self, flag: FlagRef) -> None:
        """Read-only probe before a rollout: the flag and environment exist, the token reads."""
        self.is_enabled(flag)

    def close(self) -> None:
        self._http.close()
