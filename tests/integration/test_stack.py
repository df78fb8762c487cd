"""The test stack itself: app modes behave as the rollout tests assume; everything stops."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

from tests.integration.stack import App, LoadGenerator, Stack

pytestmark = pytest.mark.integration


def _get(app: App, path: str = "/", method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(f"http://{app.address}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode()


def test_app_modes_switch_at_runtime() -> None:
    app = App("canary").start()
    try:
        assert [_get(app)[0] for _ in range(10)] == [200] * 10
        assert _get(app, "/-/mode/errors", "POST") == (200, "errors\n")
        codes = [_get(app)[0] for _ in range(100)]
        assert codes.count(500) == 20
        app.set_mode("slow")
        _get(app)
        metrics = _get(app, "/metrics")[1]
        assert 'http_requests_total{code="500",version="canary"} 20.0' in metrics
        slow_bucket = f'http_request_duration_seconds_bucket{{le="{0.75}",version="canary"}} 110.0'
        assert slow_bucket in metrics  # the slow request is above 0.75 s
    finally:
        app.close()


def test_load_generator_is_bounded_and_stack_cleans_up(tmp_path: Path) -> None:
    with Stack(tmp_path) as stack:
        pids = [stack.haproxy.proc.pid, stack.prometheus.proc.pid]  # type: ignore[union-attr]
        load: LoadGenerator = stack.load(rps=50, seconds=1).wait()
        total = sum(load.versions().values())
        assert 30 <= total <= 60
        assert load.versions() == {"stable": total}
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not stack.haproxy.running
    assert not stack.prometheus.running
