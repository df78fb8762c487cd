"""Counters that grow at set rates, served for a real Prometheus to scrape: a canary and a
baseline whose request and error rates are known exactly, without sending any traffic.

``http_requests_total{arm, code}`` for each arm; the value at time t is rate × (t − start),
so ``increase(...[w])`` over a window is rate × w whatever the scrape timing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry


@dataclass(frozen=True)
class Arm:
    name: str
    rps: float
    error_ratio: float


class _Counters(Collector):
    def __init__(self, arms: list[Arm], started: float) -> None:
        self.arms = arms
        self.started = started

    def collect(self) -> Iterator[CounterMetricFamily]:
        elapsed = time.time() - self.started
        family = CounterMetricFamily("http_requests", "Requests served.", labels=["arm", "code"])
        for arm in self.arms:
            total = arm.rps * elapsed
            family.add_metric([arm.name, "500"], total * arm.error_ratio)
            family.add_metric([arm.name, "200"], total * (1 - arm.error_ratio))
        yield family


class SyntheticTraffic:
    """An exporter on 127.0.0.1 (a free port) for the given arms; ``close()`` stops it."""

    def __init__(self, arms: list[Arm]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_Counters(arms, time.time()))
        registry = self.registry

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

                body = generate_latest(registry)
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def judge_request(
    canary: str, baseline: str, window: str = "5s", last: str = "2m"
) -> dict[str, Any]:
    """A /v1/judge body comparing two arms, each step the increase over one window."""

    def q(arm: str, errors: bool) -> str:
        code = ',code="500"' if errors else ""
        return f'sum(increase(http_requests_total{{arm="{arm}"{code}}}[{window}]))'

    return {
        "canaryErrors": q(canary, True),
        "canaryRequests": q(canary, False),
        "baselineErrors": q(baseline, True),
        "baselineRequests": q(baseline, False),
        "last": last,
        "step": window,
        "alpha": 0.01,
    }
