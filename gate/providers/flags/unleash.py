"""Unleash, through its Admin API (a token with admin rights, from an environment variable).

``POST /api/admin/projects/{project}/features/{feature}/environments/{env}/on|off`` switches,
``GET /api/admin/projects/{project}/features/{feature}`` reads ``environments[].enabled``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from gate.errors import ProviderRejected
from gate.providers.flags.interface import FlagRef
from gate.providers.http import HttpClient
from gate.secrets import shown

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
        self._http = HttpClient(
            _NAME,
            base_url=self.url,
            headers={"Authorization": token, "Accept": "application/json"},
            timeout=timeout,
            retries=retries,
            backoff_initial=0.2,
            backoff_max=2.0,
            transport=transport,
        )

    @staticmethod
    def _feature_path(flag: FlagRef) -> str:
        return (
            f"/api/admin/projects/{quote(flag.project, safe='')}/features/"
            f"{quote(flag.feature, safe='')}"
        )

    def _feature(self, flag: FlagRef) -> dict[str, Any] | None:
        reply = self._http.request("GET", self._feature_path(flag), accept=(404,))
        if reply.status == 404:
            return None
        return reply.json_object()

    def exists(self, flag: FlagRef) -> bool:
        feature = self._feature(flag)
        return feature is not None and self._environment(feature, flag) is not None

    @staticmethod
    def _environment(feature: dict[str, Any], flag: FlagRef) -> dict[str, Any] | None:
        environments = feature.get("environments")
        if not isinstance(environments, list):
            raise ProviderRejected(
                f"feature {flag.feature!r}: the answer has no environments list", provider=_NAME
            )
        for env in environments:
            if isinstance(env, dict) and env.get("name") == flag.environment:
                return env
        return None

    def is_enabled(self, flag: FlagRef) -> bool:
        feature = self._feature(flag)
        if feature is None:
            raise ProviderRejected(
                f"feature {flag.feature!r} not found in project {flag.project!r}", provider=_NAME
            )
        env = self._environment(feature, flag)
        if env is None:
            raise ProviderRejected(
                f"feature {flag.feature!r} has no environment {flag.environment!r}",
                provider=_NAME,
            )
        enabled = env.get("enabled")
        if not isinstance(enabled, bool):
            raise ProviderRejected(
                f"feature {flag.feature!r}: 'enabled' is {shown(enabled, 30)}, not true or false",
                provider=_NAME,
            )
        return enabled

    def set_enabled(self, flag: FlagRef, enabled: bool) -> None:
        path = (
            f"{self._feature_path(flag)}/environments/{quote(flag.environment, safe='')}/"
            f"{'on' if enabled else 'off'}"
        )
        reply = self._http.request("POST", path, accept=(404,))
        if reply.status == 404:
            raise ProviderRejected(
                f"feature {flag.feature!r} or environment "
                f"{flag.environment!r} not found in project {flag.project!r}",
                provider=_NAME,
            )

    def can_write(self, flag: FlagRef) -> None:
        """Read-only probe before a rollout: the flag and its environment exist and the token
        may read them. (Unleash has no dry-run write; a token that can read the admin API of
        a project is an admin token.)"""
        self.is_enabled(flag)

    def close(self) -> None:
        self._http.close()
