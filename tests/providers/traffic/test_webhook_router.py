"""WebhookRouter against a real local HTTP server."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gate.errors import ConfigError, ProviderRejected, ProviderUnavailable
from gate.providers.registry import BuildContext, build
from gate.providers.traffic.registry import ROUTERS
from gate.providers.traffic.webhook import WebhookRouter
from tests.providers.blocks import configured


class Router:
    """A fake traffic router endpoint: remembers the weight, can be told to fail."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {"route": {"canary": {"weight": 0}}}
        self.posts: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.fail_next: list[int] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Router]]:
    router = Router()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            router.posts.append((body, dict(self.headers)))
            if router.fail_next:
                self._send(router.fail_next.pop(0), {"error": "nope"})
                return
            router.state["route"]["canary"]["weight"] = body["weight"]
            self._send(200, {"ok": True})

        def do_GET(self) -> None:
            self._send(200, router.state)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", router
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_posts_weights_and_reads_back(
    server: tuple[str, Router], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, fake = server
    monkeypatch.setenv("ROUTER_TOKEN", "t0ken")
    monkeypatch.setenv("ROUTER_AUTH", "Bearer t0ken")
    (block,) = configured(
        ROUTERS,
        {
            "provider": "webhook",
            "url": f"{url}/set",
            "readUrl": f"{url}/state",
            "readPointer": "/route/canary/weight",
            "headersEnv": {"X-Api-Key": "ROUTER_TOKEN", "Authorization": "ROUTER_AUTH"},
        },
    )
    router = build(ROUTERS, block, BuildContext(service="checkout"))
    assert isinstance(router, WebhookRouter)
    try:
        router.set_canary_weight(25)
        body, sent = fake.posts[-1]
        assert body == {"weight": 25, "stable_weight": 75, "service": "checkout"}
        assert sent["X-Api-Key"] == "t0ken"
        assert sent["Authorization"] == "Bearer t0ken"
        assert router.canary_weight() == 25
        assert "t0ken" not in repr(router) + router.describe()
    finally:
        router.close()


def test_5xx_retried_4xx_rejected(server: tuple[str, Router]) -> None:
    url, fake = server
    router = WebhookRouter(url=url, retries=2, backoff_initial=0.01)
    try:
        fake.fail_next = [503, 500]
        router.set_canary_weight(5)
        assert len(fake.posts) == 3
        fake.fail_next = [503, 503, 503]
        with pytest.raises(ProviderUnavailable, match="HTTP 503: nope \\(after 3 attempts\\)"):
            router.set_canary_weight(5)
        fake.fail_next = [403]
        before = len(fake.posts)
        with pytest.raises(
            ProviderRejected, match=re.escape("credentials were refused (HTTP 403)")
        ):
            router.set_canary_weight(5)
        assert len(fake.posts) == before + 1
    finally:
        router.close()


def test_read_back_without_value_is_rejected(server: tuple[str, Router]) -> None:
    url, _ = server
    router = WebhookRouter(url=url, read_url=url, read_pointer="/route/missing")
    try:
        with pytest.raises(ProviderRejected, match="nothing at JSON pointer"):
            router.canary_weight()
    finally:
        router.close()


def test_unreachable_is_unavailable() -> None:
    from tests.integration.stack import free_port

    router = WebhookRouter(url=f"http://127.0.0.1:{free_port()}/", retries=1, backoff_initial=0.01)
    try:
        with pytest.raises(ProviderUnavailable, match="cannot connect"):
            router.set_canary_weight(5)
    finally:
        router.close()


def test_missing_env_var_is_a_config_error_naming_only_the_variable() -> None:
    (block,) = configured(
        ROUTERS,
        {"provider": "webhook", "url": "http://127.0.0.1:1/", "headersEnv": {"X": "NOPE_TOKEN"}},
    )
    with pytest.raises(
        ConfigError,
        match=r"^spec.yaml: items\[0\].headersEnv.X: environment variable NOPE_TOKEN is not set$",
    ):
        build(ROUTERS, block, BuildContext())
