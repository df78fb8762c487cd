"""This machine's clock against Prometheus's: gate asks every query at its own time, so it
reads Prometheus's clock (the Date of its answers) before a rollout and refuses to start on a
clock far away from it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gate.providers.metrics.prometheus import PrometheusProvider
from tests.integration.stack import Stack

pytestmark = pytest.mark.integration


def test_prometheus_tells_its_own_time_with_every_answer(stack: Stack) -> None:
    with PrometheusProvider(stack.prometheus.url) as provider:
        assert provider.server_time() is None  # nothing answered yet
        provider.query("sum(up)")
        theirs = provider.server_time()
    assert theirs is not None
    assert abs((theirs - datetime.now(UTC)).total_seconds()) < 5
