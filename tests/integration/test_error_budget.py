"""The error-budget check against a real Prometheus scraping real apps under load."""

from __future__ import annotations

import time

import pytest

from gate.change import ChangeRequest
from gate.checks.interface import CheckContext, CheckOutcome, Status
from gate.checks.registry import CHECKS
from tests.integration.stack import Stack
from tests.policy.helpers import change, policy

pytestmark = pytest.mark.integration

RATIO = (
    '(sum(rate(http_requests_total{code=~"5.."}[{{ window }}])) or vector(0)) / '
    "sum(rate(http_requests_total[{{ window }}]))"
)


def error_budget(stack: Stack, c: ChangeRequest) -> CheckOutcome:
    """The check as a policy declares it, loaded and run through gate's own registry."""
    block = {
        "type": "error-budget",
        "name": "slo",
        "url": stack.prometheus.url,
        "objective": 0.999,
        "errorRatio": RATIO,
        "window": "30d",  # with minutes of data, rate over 30d is the ratio so far
    }
    (spec,) = policy({"checks": [block]}).checks
    return CHECKS[spec.type].run(spec.settings, c, CheckContext(spec.timeout))


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
    out = error_budget(stack, change())
    assert out.status is Status.PASS, out.message
    assert out.message.startswith("0% of the error budget used over 30d")


def test_failing_service_is_burning_its_budget(stack: Stack) -> None:
    stack.stable.set_mode("errors")
    stack.load(rps=40, seconds=30)
    wait_for_data(stack, errors=True)
    out = error_budget(stack, change())
    assert out.status is Status.FAIL, out.message
    assert "burning fast: 14.4× burn over 1h and 5m" in out.message
