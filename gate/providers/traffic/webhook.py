"""A router behind an HTTP endpoint: POST ``{"weight", "stable_weight", "service"}``.

A 2xx answer means the change was applied. Timeouts, refused connections, 5xx and 429 are
retried with backoff; other answers are refused outright. An optional read-back URL is read
with GET and the canary's percent taken from its JSON at an RFC 6901 pointer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from gate.errors import ConfigError, ProviderRejected, ProviderUnavailable
from gate.providers import http_retry
from gate.providers.http_retry import Backoff

_NAME = "webhook"


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """Split an RFC 6901 JSON pointer (``""`` is the whole document)."""
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise ConfigError(f"JSON pointer {pointer!r} must start with '/'", field="readPointer")
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/"))


def resolve_pointer(document: Any, parts: tuple[str, ...]) -> Any:
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
        read_pointer: str = "/weight",
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
        self._pointer = parse_pointer(read_pointer)
        self._pointer_text = read_pointer
        self._backoff = Backoff(retries=retries, initial=backoff_initial, maximum=backoff_max)
        self._sleep = sleep
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            headers=dict(headers or {}),
            transport=transport,
            verify=True,
            follow_redirects=False,
        )

    def describe(self) -> str:
        return f"webhook {http_retry.redact_url(self.url)}"

    def __repr__(self) -> str:
        return f"WebhookRouter({http_retry.redact_url(self.url)!r})"

    def set_canary_weight(self, percent: int) -> None:
        if isinstance(percent, bool) or not 0 <= int(percent) <= 100:
            raise ValueError(f"canary weight {percent!r} is not a percentage 0-100")
        body = {
            "weight": int(percent),
            "stable_weight": 100 - int(percent),
            "service": self.service,
        }
        self._exchange("POST", self.url, body)

    def canary_weight(self) -> int | None:
        if self.read_url is None:
            return None
        response = self._exchange("GET", self.read_url, None)
        where = http_retry.redact_url(self.read_url)
        try:
            value = resolve_pointer(response.json(), self._pointer)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ProviderRejected(f"{where}: the answer is not JSON", provider=_NAME) from exc
        except KeyError as exc:
            raise ProviderRejected(
                f"{where}: nothing at JSON pointer {self._pointer_text!r}", provider=_NAME
            ) from exc
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise ProviderRejected(
                f"{where}: {self._pointer_text} is {value!r}, expected an integer", provider=_NAME
            )
        if not 0 <= int(value) <= 100:
            raise ProviderRejected(
                f"{where}: {self._pointer_text} is {value}, not a percentage 0-100",
                provider=_NAME,
            )
        return int(value)

    def close(self) -> None:
        self._client.close()

    def _exchange(self, method: str, url: str, body: dict[str, Any] | None) -> httpx.Response:
        where = f"{method} {http_retry.redact_url(url)}"
        kwargs = {} if self._sleep is None else {"sleep": self._sleep}
        try:
            response = http_retry.send(
                lambda: self._client.request(method, url, json=body), self._backoff, **kwargs
            )
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise ProviderRejected(f"{where}: {exc}", provider=_NAME) from exc
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"{where}: {http_retry.describe_transport_error(exc)} "
                f"(after {self._backoff.retries + 1} attempts)",
                provider=_NAME,
            ) from exc
        status = response.status_code
        if status in http_retry.RETRYABLE_STATUS:
            raise ProviderUnavailable(
                f"{where}: HTTP {status} (after {self._backoff.retries + 1} attempts)",
                provider=_NAME,
            )
        if not 200 <= status < 300:
            text = " ".join(response.text.split())[:200]
            raise ProviderRejected(
                f"{where}: HTTP {status}{': ' + text if text else ''}", provider=_NAME
            )
        return response
