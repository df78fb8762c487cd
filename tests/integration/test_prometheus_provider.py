"""PrometheusProvider against a real Prometheus scraping the real apps."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from gate.errors import ProviderRejected, ProviderUnavailable
from gate.providers.metrics.prometheus import PrometheusProvider
from tests.integration.stack import App, Prometheus, Stack

pytestmark = pytest.mark.integration

CANARY_ERROR_RATE = (
    'sum(rate(http_requests_total{version="canary",code=~"5.."}[10s]))'
    ' / sum(rate(http_requests_total{version="canary"}[10s]))'
)


@pytest.fixture
def prom(shared_stack: Stack) -> Iterator[PrometheusProvider]:
    provider = PrometheusProvider(shared_stack.prometheus.url, timeout=5, retries=1)
    yield provider
    provider.close()


def test_vector_has_one_sample_per_series_with_labels(prom: PrometheusProvider) -> None:
    result = prom.query('http_requests_total{code="200"}')
    assert sorted(s.labels["version"] for s in result.samples) == ["canary", "stable"]
    assert all(s.labels["__name__"] == "http_requests_total" for s in result.samples)
    assert all(s.value >= 0 for s in result.samples)


def test_aggregated_vector_and_scalar(prom: PrometheusProvider) -> None:
    by_version = prom.query('count by (version) (http_requests_total{code="500"})')
    assert {s.labels["version"]: s.value for s in by_version.samples} == {
        "stable": 1.0,
        "canary": 1.0,
    }
    scalar = prom.query("2.5 * 2")
    assert [(s.labels, s.value) for s in scalar.samples] == [({}, 5.0)]


def test_empty_result_is_no_samples(prom: PrometheusProvider) -> None:
    result = prom.query('http_requests_total{version="nonexistent"}')
    assert result.samples == ()
    assert result.query == 'http_requests_total{version="nonexistent"}'


def test_nan_and_infinities_are_parsed(prom: PrometheusProvider) -> None:
    (nan,) = prom.query("0/0").samples
    assert math.isnan(nan.value)
    assert prom.query("1/0").samples[0].value == math.inf
    assert prom.query("-1/0").samples[0].value == -math.inf


def test_error_rate_without_traffic_is_nan(prom: PrometheusProvider) -> None:
    # counters exist but do not move: 0 / 0 per the error-rate query
    (sample,) = prom.query(CANARY_ERROR_RATE).samples
    assert math.isnan(sample.value)


def test_bad_query_is_rejected_with_prometheus_message(prom: PrometheusProvider) -> None:
    with pytest.raises(ProviderRejected, match=r"HTTP 400: bad_data: .*parse error") as info:
        prom.query("sum(rate(http_requests_total[1m])")
    assert info.value.provider == "prometheus"


def test_execution_error_is_rejected(prom: PrometheusProvider) -> None:
    with pytest.raises(ProviderRejected, match=r"HTTP 422: execution: invalid regular expression"):
        prom.query('label_replace(vector(1), "x", "y", "src", "(")')


def test_range_vector_in_instant_query_is_rejected(prom: PrometheusProvider) -> None:
    with pytest.raises(ProviderRejected, match="range vector"):
        prom.query("http_requests_total[5s]")


def test_query_at_a_past_time_and_query_range(prom: PrometheusProvider) -> None:
    now = datetime.now(UTC)
    before_start = now - timedelta(hours=1)
    assert prom.query('http_requests_total{code="200"}', at=before_start).samples == ()
    series = prom.query_range(
        'sum by (version) (http_requests_total{code="200"})',
        now - timedelta(seconds=4),
        now,
        1.0,
    )
    assert sorted(labels["version"] for labels, _ in series) == ["canary", "stable"]
    for _, points in series:
        assert len(points) >= 2
        assert all(t <= now.timestamp() + 1 for t, _ in points)


def test_rate_follows_real_traffic(shared_stack: Stack, prom: PrometheusProvider) -> None:
    load = shared_stack.load(rps=40, seconds=4)
    load.wait()
    deadline = time.monotonic() + 10
    served = 0.0
    while time.monotonic() < deadline:
        result = prom.query('sum(increase(http_requests_total{version="stable"}[30s]))')
        served = result.samples[0].value if result.samples else 0.0
        if served >= 0.5 * load.versions().get("stable", 0) > 0:
            break
        time.sleep(0.5)
    assert load.versions().get("stable", 0) > 50
    assert served >= 0.5 * load.versions()["stable"]


def test_stopped_server_is_unavailable_after_retries(tmp_path: Path) -> None:
    app = App("stable").start()
    server = Prometheus(tmp_path / "prom", [app.address]).start()
    provider = PrometheusProvider(server.url, timeout=2, retries=2, backoff_initial=0.05)
    try:
        assert provider.query("1").samples[0].value == 1.0
        server.stop()
        with pytest.raises(ProviderUnavailable, match=r"cannot connect.*after 3 attempts") as info:
            provider.query("1")
        assert isinstance(info.value.__cause__, httpx.ConnectError)
        server.start()
        assert provider.query("1").samples[0].value == 1.0
    finally:
        provider.close()
        server.stop()
        app.close()
