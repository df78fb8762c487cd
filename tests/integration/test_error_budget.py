"""The error-budget check against a real Prometheus scraping real apps under load."""

from __future__ import annotations

import time

import pytest

from gate.checks.interface import CheckSpec, Status
from gate.checks.remote import error_budget
from tests.check.helpers import change
from tests.integration.stack import Stack

pytestmark = pytest.mark.integration

RATIO = (
    '(sum(rate(http_requests_total{code=~"5.."}[{{ window }}])) or vector(0)) / '
    "sum(rate(http_requests_total[{{ window }}]))"
)


def check(stack: Stack) -> CheckSpec:
    return CheckSpec(
        type="error-budget",
        name="slo",
        timeout=10.0,
        file="p.yaml",
        line=1,
        settings={
            "url": stack.prometheus.url,
            "objective": 0.999,
            "errorRatio": RATIO,
            "window": "1h",
        },
    )


def wait_for_data(stack: Stack, errors: bool) -> None:
    from gate.providers.metrics.prometheus import PrometheusProvider

    with PrometheusProvider(stack.prometheus.url) as prom:
        deadline = time.monotonic() + 60
        query = (
            'sum(increase(http_requests_total{code=~"5.."}[1m]))'
            if errors
            else ("sum(increase(http_requests_total[1m]))")
        )
        while time.monotonic() < deadline:
            samples = prom.query(query).samples
            if samples and samples[0].value > 0:
                return
            time.sleep(0.5)
    raise AssertionError("Prometheus never saw the load")


def test_healthy_service_has_its_budget(stack: Stack) -> None:
    stack.load(rps=40, seconds=30)
    wait_for_data(stack, errors=False)
    out = error_budget(check(stack), change())
    assert out.status is Status.PASS, out.message
    assert out.message.startswith("0% of the error budget used over 1h")


def test_failing_service_is_burning_its_budget(stack: Stack) -> None:
    stack.stable.set_mode("errors")
    stack.load(rps=40, seconds=30)
    wait_for_data(stack, errors=True)
    out = error_budget(check(stack), change())
    assert out.status is Status.FAIL, out.message
    assert "burning fast: 14.4× burn over 1h and 5m" in out.message
