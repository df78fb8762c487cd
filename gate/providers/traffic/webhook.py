"""A router behind an HTTP endpoint: POST ``{"weight", "stable_weight", "service"}``.

A 2xx answer means the change was applied. Timeouts, refused connections, 5xx and 429 are
retried within the deadline; other answers are refused outright. An optional read-back URL is
read with GET and the canary's percent taken from its JSON at an RFC 6901 pointer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from gate.errors import ProviderRejected
from gate.providers.http import HttpClient, redact_url
from gate.providers.traffic.settings import parse_pointer
from gate.secrets import shown

_NAME = "webhook"


def resolve_pointer(document: Any, parts: Sequence[str]) -> Any:
    """The value at ``parts`` in ``document``; KeyError when it is absent."""
    node = document
    for part in parts:
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise KeyError(part)
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node[part]
        else:
            raise KeyError(part)
    return node


class WebhookRouter:
    """A :class:`~gate.providers.traffic.interface.TrafficRouter` that calls a URL."""

    name = _NAME

    def __init__(
        self,
        *,
        url: str,
        service: str = "",
        headers: Mapping[str, str] | None = None,
        read_url: str | None = None,
        read_pointer: str | Sequence[str] = "/weight",
        timeout: float = 10.0,
        retries: int = 3,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.url = url
        self.read_url = read_url
        self.service = service
        self._pointer = (
            parse_pointer(read_pointer) if isinstance(read_pointer, str) else tuple(read_pointer)
        )
        self._pointer_text = "/" + "/".join(self._pointer)
        extra = {} if sleep is None else {"sleep": sleep}
        self._http = HttpClient(
            _NAME,
            headers=headers,
            timeout=timeout,
            retries=retries,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            transport=transport,
            **extra,  # type: ignore[arg-type]
        )

    def describe(self) -> str:
        return f"webhook {redact_url(self.url)}"

    def __repr__(self) -> str:
        return f"WebhookRouter({redact_url(self.url)!r})"

    def set_canary_weight(self, percent: int) -> None:
        if isinstance(percent, bool) or not 0 <= int(percent) <= 100:
            raise ValueError(f"canary weight {percent!r} is not a percentage 0-100")
        body = {
            "weight": int(percent),
            "stable_weight": 100 - int(percent),
            "service": self.service,
        }
        self._http.request("POST", self.url, json_body=body)

    def canary_weight(self) -> int | None:
        if self.read_url is None:
            return None
        reply = self._http.request("GET", self.read_url)
        try:
            value = resolve_pointer(reply.json(), self._pointer)
        except KeyError:
            raise ProviderRejected(
                f"{reply.where}: nothing at JSON pointer {self._pointer_text!r}", provider=_NAME
            ) from None
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise ProviderRejected(
                f"{reply.where}: {self._pointer_text} is {shown(value, 40)}, expected an integer",
                provider=_NAME,
            )
        if not 0 <= int(value) <= 100:
            raise ProviderRejected(
                f"{reply.where}: {self._pointer_text} is {value}, not a percentage 0-100",
                provider=_NAME,
            )
        return int(value)

    def close(self) -> None:
        self._http.close()
