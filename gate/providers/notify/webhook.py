"""A generic JSON webhook, signed: ``X-Gate-Signature: sha256=HEX`` is the HMAC-SHA256 of
``TIMESTAMP.BODY`` with the shared secret, and ``X-Gate-Timestamp`` lets the receiver refuse
replays."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from gate.providers.http import HttpClient
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
        self._http = HttpClient(self.name, timeout=timeout, retries=2, transport=transport)

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
        self._http.request("POST", self._url, content=body, headers=headers)

    def close(self) -> None:
        self._http.close()
