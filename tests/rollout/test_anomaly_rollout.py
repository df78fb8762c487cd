"""A rollout metric judged against its own history (``anomaly:``), and the live check
``type: anomaly``, against a real Prometheus holding five weeks of backfilled history (see
tests/anomaly/test_prometheus_history.py for the series): an error ratio that jumps ×3 at the
deploy is rolled back even with no baseline arm to compare with; the Monday peak that matches
its history is promoted; a check before the deploy refuses to deploy into the anomaly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gate.checks.interface import CheckContext, Status
from gate.checks.registry import CHECKS
from gate.errors import ProviderRejected
from gate.providers.metrics.prometheus import PrometheusProvider
from tests.anomaly.test_prometheus_history import DEPLOY, METRIC, NOW, prometheus
from tests.policy.helpers import change, policy
from tests.rollout.fakes import FakeRouter, controller, spec

pytestmark = pytest.mark.integration
__all__ = ["prometheus"]  # the fixture: a real Prometheus with the history backfilled

ANOMALY = {"unit": "ratio", "minChange": 0.001, "label": "error ratio"}
STAGES = [{"weight": 10, "duration": "10m"}, {"weight": 100}]


def anomaly_metric(case: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "error-ratio",
        "query": f'{METRIC}{{case="{case}"}}',
        "anomaly": {**ANOMALY, **extra},
    }


def wall_from(start: datetime, clock: Callable[[], float]) -> Callable[[], datetime]:
    origin = clock()
    return lambda: start + timedelta(seconds=clock() - origin)


def run(tmp_path: Path, provider: PrometheusProvider, case: str) -> tuple[Any, FakeRouter]:
    s = spec(
        stages=STAGES,
        analysis__interval="1m",
        analysis__inconclusiveLimit=3,
        analysis__metrics=[anomaly_metric(case)],
    )
    router = FakeRouter()
    c, _ = controller(tmp_path, s, provider, router)  # type: ignore[arg-type]
    c.analyzer.now = wall_from(DEPLOY, c.clock)
    return c.run(), router


def test_an_error_ratio_three_times_its_history_is_rolled_back(
    tmp_path: Path, prometheus: PrometheusProvider
) -> None:
    result, router = run(tmp_path, prometheus, "jump")
    assert result.status == "rolled-back", result.reason
    assert "robust σ above its usual" in result.reason
    assert router.history == [10, 0]


def test_the_monday_peak_that_matches_its_history_is_promoted(
    tmp_path: Path, prometheus: PrometheusProvider
) -> None:
    result, router = run(tmp_path, prometheus, "steady")
    assert result.status == "promoted", result.reason
    assert router.history == [10, 100]


def check(provider: PrometheusProvider, case: str) -> Any:
    (spec_,) = policy(
        {
            "checks": [
                {
                    "type": "anomaly",
                    "name": "errors",
                    "url": provider.url,
                    "query": f'{METRIC}{{case="{case}"}}',
                    "anomaly": ANOMALY,
                }
            ]
        }
    ).checks
    # the check asks about "now"; here "now" is the end of the backfilled series
    context = CheckContext(spec_.timeout, now=lambda: NOW)
    return CHECKS["anomaly"].run(spec_.settings, change(), context)


def test_the_live_check_refuses_to_deploy_into_an_ongoing_anomaly(
    prometheus: PrometheusProvider,
) -> None:
    out = check(prometheus, "jump")
    assert out.status is Status.FAIL
    assert "do not deploy into an ongoing anomaly" in out.message
    assert check(prometheus, "steady").status is Status.PASS
    with pytest.raises(ProviderRejected, match="cannot tell"):
        check(prometheus, "young")
