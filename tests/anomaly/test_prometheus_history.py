"""The detector against a real Prometheus holding five weeks of backfilled history.

An error ratio with a daily cycle, quiet weekends and a steep Monday-morning peak, noise, an
incident two Mondays ago (×4 for two hours around 10:00) and a short spike every day — the
outliers a plain z-score trips over. "Now" is the latest Monday 10:00 (UTC) at least an hour
ago; the series ends there.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from gate.anomaly import AnomalySettings, Verdict, assess
from gate.providers.metrics.prometheus import PrometheusProvider
from tests.anomaly.backfill import prometheus_with_history
from tests.anomaly.fakes import noisy, weekly

pytestmark = pytest.mark.integration

WEEK = 7 * 86400
METRIC = "gate_test_error_ratio"


def latest_monday_10() -> datetime:
    now = datetime.now(UTC) - timedelta(hours=1)
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    return monday if monday <= now else monday - timedelta(weeks=1)


NOW = latest_monday_10()
DEPLOY = NOW - timedelta(minutes=10)
INCIDENT = NOW.timestamp() - 2 * WEEK  # two Mondays ago, 09:00-11:00


def ratio(t: float) -> float:
    v = 0.002 * weekly(t) / 100 * noisy(t, 0.1)
    if abs(t - INCIDENT) <= 3600:
        v *= 4
    if (t // 60) % 1440 in range(200, 220):  # 20 minutes of ×3 every day at 03:20
        v *= 3
    return v


def jump(t: float) -> float:
    return ratio(t) * (3 if t >= DEPLOY.timestamp() else 1)


def young(t: float) -> float | None:
    return ratio(t) if t >= NOW.timestamp() - 10 * 86400 else None


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusProvider]:
    end = int(NOW.timestamp())
    series = [
        (f'{METRIC}{{case="steady"}}', ratio),
        (f'{METRIC}{{case="jump"}}', jump),
        (f'{METRIC}{{case="young"}}', young),
    ]
    workdir = tmp_path_factory.mktemp("history")
    with (
        prometheus_with_history(workdir, METRIC, series, range(end - 5 * WEEK, end + 1, 60)) as s,
        PrometheusProvider(s.url) as provider,
    ):
        yield provider


def settings(case: str, **changes: object) -> AnomalySettings:
    base: dict[str, object] = {
        "query": f'{METRIC}{{case="{case}"}}',
        "name": "error ratio",
        "unit": "ratio",
        "min_change": 0.001,
    }
    base.update(changes)
    return AnomalySettings(**base)  # type: ignore[arg-type]


def test_the_history_is_really_there(prometheus: PrometheusProvider) -> None:
    four_weeks_ago = NOW - timedelta(weeks=4)
    result = prometheus.query(f'{METRIC}{{case="steady"}}', at=four_weeks_ago)
    assert len(result.samples) == 1
    assert math.isclose(result.samples[0].value, ratio(four_weeks_ago.timestamp()), rel_tol=1e-4)


def test_a_tripled_error_ratio_is_detected_against_its_own_history(
    prometheus: PrometheusProvider,
) -> None:
    result = assess(prometheus, settings("jump"), at=NOW, since=DEPLOY)
    assert result.verdict is Verdict.ANOMALY, result.message
    assert result.message.startswith("error ratio ")
    assert "robust σ above its usual" in result.message
    assert result.message.endswith("for Monday 10:00, 4 weeks of history")
    # and as a pre-deploy question ("is it anomalous now?")
    assert assess(prometheus, settings("jump"), at=NOW).verdict is Verdict.ANOMALY


def test_the_monday_peak_that_matches_its_history_is_not(prometheus: PrometheusProvider) -> None:
    # the ratio climbs 2.5x from 07:00 to 09:30, as every Monday; two Mondays ago had an
    # incident at this very hour, which the median across weeks sets aside
    result = assess(prometheus, settings("steady", direction="either"), at=NOW, since=DEPLOY)
    assert result.verdict is Verdict.NORMAL, result.message
    assert assess(prometheus, settings("steady"), at=NOW).verdict is Verdict.NORMAL


def test_too_little_history_is_inconclusive(prometheus: PrometheusProvider) -> None:
    result = assess(prometheus, settings("young"), at=NOW, since=DEPLOY)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.message == (
        "error ratio: only 1 week of history at Monday 10:00 (needs 3); inconclusive, not a pass"
    )
