"""Fixtures for the server's tests: the app in-process (Starlette's TestClient) with fakes of
gate's own interfaces, and helpers shared with the tests of the real server process."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

import anyio.from_thread
import httpx
import pytest
from starlette.applications import Starlette

from gate.providers.metrics.interface import MetricsProvider
from gate.serve.app import create_app
from gate.serve.service import Service
from gate.serve.settings import ServeSettings
from gate.serve.state import RollbackRequests
from tests.cli.conftest import gate

REPO = Path(__file__).resolve().parents[2]
PROM = "http://prometheus.test:9090"
TOKEN = "t0ken-for-tests-only"

T = TypeVar("T")


class AppClient:
    """A blocking client for the ASGI app in this process: httpx's ASGI transport driven from
    an anyio portal, with the app's lifespan entered on open and left on close."""

    def __init__(self, app: Starlette, headers: dict[str, str]) -> None:
        self._portal_cm: AbstractContextManager[anyio.from_thread.BlockingPortal] = (
            anyio.from_thread.start_blocking_portal()
        )
        self.portal = self._portal_cm.__enter__()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gate.test", headers=headers
        )
        self._lifespan: AbstractAsyncContextManager[Any] = app.router.lifespan_context(app)
        self.portal.call(self._lifespan.__aenter__)

    def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        return self.portal.call(fn)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.portal.call(functools.partial(self.client.request, method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        try:
            self.portal.call(self._lifespan.__aexit__, None, None, None)
            self.portal.call(self.client.aclose)
        finally:
            self._portal_cm.__exit__(None, None, None)


MakeClient = Callable[..., AppClient]


@pytest.fixture
def make_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeClient]:
    """``make_client(**settings)``: an AppClient (sending the bearer token) on a fresh app; its
    lifespan runs, and every client is closed after the test. Paths resolve from the repo."""
    monkeypatch.chdir(REPO)
    opened: list[AppClient] = []

    def make(
        *,
        metrics: MetricsProvider | None = None,
        rollbacks: RollbackRequests | None = None,
        token: str | None = TOKEN,
        **fields: Any,
    ) -> AppClient:
        fields.setdefault("prometheus", PROM)
        settings = ServeSettings(**fields)
        factory = None if metrics is None else (lambda url: metrics)
        service = Service.load(settings, rollback_requests=rollbacks, metrics=factory)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = AppClient(create_app(service, token=token), headers)
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


__all__ = ["PROM", "REPO", "TOKEN", "AppClient", "MakeClient", "gate", "make_client"]
