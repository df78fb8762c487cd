"""A generic JSON webhook, signed: ``X-Gate-Signature: sha256=HEX`` is the HMAC-SHA256 of
``TIMESTAMP.BODY`` with the shared secret, and ``X-Gate-Timestamp`` lets the receiver refuse
replays."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from gate.errors import ProviderRejected, ProviderUnavailable
from gate.providers.notify.interface import Event


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookNotifier:
    name = "webhook"

    def __init__(
        self,
        *,
        url: str,
        secret: str,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = url
        self._secret = secret
        self._client = httpx.Client(timeout=timeout, verify=True, transport=transport)

    def send(self, event: Event) -> None:
        body = json.dumps(
            {
                "event": event.kind.value,
                "rollout": event.rollout,
                "service": event.service,
                "message": event.message,
                "weight": event.weight,
                "stage": event.stage,
                "details": event.details,
            },
            sort_keys=True,
        ).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Gate-Timestamp": stamp,
            "X-Gate-Signature": signature(self._secret, stamp, body),
        }
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(type(exc).__name__, provider="webhook") from exc
        if not 200 <= response.status_code < 300:
            raise ProviderRejected(f"HTTP {response.status_code}", provider="webhook")

    def close(self) -> None:
        self._client.close()
