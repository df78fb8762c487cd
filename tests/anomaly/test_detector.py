"""The anomaly detector's core, through a fake of gate's MetricsProvider interface."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gate.anomaly import AnomalySettings, Verdict, Window, assess, evaluate
from gate.anomaly.detector import format_value
from gate.anomaly.history import season_shift
from tests.anomaly.fakes import MONDAY_10, QUERY, WEEK, SeriesProvider, seasonal

DEPLOY = MONDAY_10 - timedelta(minutes=10)


def settings(**changes: object) -> AnomalySettings:
    base: dict[str, object] = {"query": QUERY, "name": "throughput", "unit": "req/s"}
    base.update(changes)
    return AnomalySettings(**base)  # type: ignore[arg-type]


def test_a_jump_to_three_times_its_history_is_an_anomaly() -> None:
    provider = SeriesProvider(seasonal(jump_from=DEPLOY.timestamp(), factor=3.0))
    result = assess(provider, settings(), at=MONDAY_10, since=DEPLOY)
    assert result.verdict is Verdict.ANOMALY, result.message
    assert result.score is not None
    assert result.score > 3.25
    assert result.value is not None
    assert result.expected is not None
    assert 2.5 < result.value / result.expected < 3.5
    assert result.seasons == 4
    assert result.evidence == pytest.approx(result.score / 3.25)
    assert result.message.startswith("throughput ")
    assert "robust σ above its usual" in result.message
    assert result.message.endswith("req/s for Monday 10:00, 4 weeks of history")


def test_the_monday_peak_that_matches_history_is_normal() -> None:
    # 08:30-10:00 climbs to 2.5x the Sunday-night level; every past Monday did the same
    provider = SeriesProvider(seasonal())
    result = assess(provider, settings(direction="either"), at=MONDAY_10, since=DEPLOY)
    assert result.verdict is Verdict.NORMAL, result.message
    assert result.score is not None
    assert abs(result.score) < 3
    assert ": normal (anomaly past 3.25σ either)" in result.message


def test_the_plain_question_without_a_deploy_start_sees_an_ongoing_anomaly() -> None:
    # an hour-old tripling: today's level must not absorb it when there is no deploy
    provider = SeriesProvider(seasonal(jump_from=MONDAY_10.timestamp() - 3600, factor=3.0))
    assert assess(provider, settings(), at=MONDAY_10).verdict is Verdict.ANOMALY
    healthy = assess(SeriesProvider(seasonal()), settings(), at=MONDAY_10)
    assert healthy.verdict is Verdict.NORMAL, healthy.message


def test_too_little_history_is_inconclusive_never_normal() -> None:
    two_weeks_ago = MONDAY_10.timestamp() - 2 * WEEK - 86400
    provider = SeriesProvider(seasonal(history_from=two_weeks_ago))
    result = assess(provider, settings(), at=MONDAY_10, since=DEPLOY)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.message == (
        "throughput: only 2 weeks of history at Monday 10:00 (needs 3); inconclusive, not a pass"
    )
    assert not result.failed


def test_no_data_now_is_inconclusive() -> None:
    provider = SeriesProvider(seasonal(history_from=None), query=QUERY)
    empty = SeriesProvider(lambda t: None if t >= DEPLOY.timestamp() - 7200 else provider.value(t))
    result = assess(empty, settings(), at=MONDAY_10, since=DEPLOY)
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "no data now" in result.message or "before the deploy have data" in result.message


def test_direction_decides_which_way_is_bad() -> None:
    drop = SeriesProvider(seasonal(jump_from=DEPLOY.timestamp(), factor=0.4))
    assert assess(drop, settings(direction="up"), at=MONDAY_10, since=DEPLOY).verdict is (
        Verdict.NORMAL
    )
    down = assess(drop, settings(direction="down"), at=MONDAY_10, since=DEPLOY)
    assert down.verdict is Verdict.ANOMALY
    assert down.evidence is not None
    assert down.evidence > 1
    assert "robust σ below its usual" in down.message
    either = assess(drop, settings(direction="either"), at=MONDAY_10, since=DEPLOY)
    assert either.verdict is Verdict.ANOMALY


def test_an_outlier_week_in_history_neither_alarms_nor_blinds() -> None:
    # two weeks ago the service had an incident all Monday: ×4 traffic
    outlier = (MONDAY_10.replace(hour=0).timestamp() - 2 * WEEK, 4.0)
    calm = SeriesProvider(seasonal(outlier_week=outlier))
    assert assess(calm, settings(), at=MONDAY_10).verdict is Verdict.NORMAL
    assert assess(calm, settings(), at=MONDAY_10, since=DEPLOY).verdict is Verdict.NORMAL
    jump = SeriesProvider(seasonal(outlier_week=outlier, jump_from=DEPLOY.timestamp(), factor=2.0))
    assert assess(jump, settings(), at=MONDAY_10, since=DEPLOY).verdict is Verdict.ANOMALY


def test_sensitivity_and_min_change_hold_back_small_moves() -> None:
    provider = SeriesProvider(seasonal(jump_from=DEPLOY.timestamp(), factor=1.3))
    assert assess(provider, settings(), at=MONDAY_10, since=DEPLOY).verdict is Verdict.ANOMALY
    assert (
        assess(provider, settings(sensitivity=80.0), at=MONDAY_10, since=DEPLOY).verdict
        is Verdict.NORMAL
    )
    assert (
        assess(provider, settings(min_change=1e6), at=MONDAY_10, since=DEPLOY).verdict
        is Verdict.NORMAL
    )


def test_history_is_read_at_whole_weeks_back_with_n_plus_one_range_queries() -> None:
    provider = SeriesProvider(seasonal())
    assess(provider, settings(seasons=4, min_seasons=3), at=MONDAY_10, since=DEPLOY)
    assert len(provider.ranges) == 5
    # past weeks reach 5 minutes further each side, for their running median
    pad = timedelta(minutes=5)
    ends = [end for _, end, _ in provider.ranges]
    assert ends == [MONDAY_10] + [MONDAY_10 - timedelta(weeks=k) + pad for k in range(1, 5)]
    starts = [start for start, _, _ in provider.ranges]
    first = DEPLOY - timedelta(hours=1)
    assert starts == [first] + [first - timedelta(weeks=k) - pad for k in range(1, 5)]


def test_the_same_time_of_week_follows_the_local_clock_across_dst() -> None:
    # Berlin left summer time on 2026-10-25: one week before 2026-10-26 10:00 local is 169 h
    at = datetime(2026, 10, 26, 9, 0, tzinfo=UTC)  # 10:00 CET
    berlin = settings(timezone="Europe/Berlin")
    assert season_shift(at, 1, berlin) == 169 * 3600
    assert season_shift(at, 1, settings()) == 168 * 3600
    assert season_shift(at, 2, berlin) == 337 * 3600


def test_a_query_returning_several_series_is_an_error() -> None:
    class TwoSeries(SeriesProvider):
        def query_range(
            self, query: str, start: datetime, end: datetime, step_seconds: float
        ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
            one = super().query_range(query, start, end, step_seconds)
            return [*one, ({"pod": "b"}, one[0][1])]

    with pytest.raises(ValueError, match="returned 2 series; aggregate it"):
        assess(TwoSeries(seasonal()), settings(), at=MONDAY_10)


def test_the_core_judges_a_window_without_any_provider() -> None:
    times = tuple(float(i * 60) for i in range(6))
    history = tuple((10.0, 10.0, 10.0, 10.0, 10.0, 10.0) for _ in range(3))
    flat = evaluate(
        settings(min_seasons=3, seasons=3, step=60.0, baseline=180.0),
        Window(times, (10.0, 10.0, 10.0, 30.0, 30.0, 30.0), history, split=3),
    )
    assert flat.verdict is Verdict.ANOMALY
    assert flat.at == datetime.fromtimestamp(300, UTC)
    assert flat.message.startswith("throughput 30 req/s is ")
    assert "above its usual 10 req/s for Thursday 00:05, 3 weeks of history" in flat.message
    with pytest.raises(ValueError, match="one point per time"):
        Window(times, (1.0,), history)
    with pytest.raises(ValueError, match="plus pad each side"):
        Window(times, times, history, pad=2)


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(0.412, "s", "412 ms"), (2.5, "s", "2.5 s"), (0.031, "ratio", "3.1%"), (1234.5, "", "1234")],
)
def test_values_are_written_for_people(value: float, unit: str, text: str) -> None:
    assert format_value(value, unit) == text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"direction": "sideways"}, "direction: must be up, down or either"),
        ({"min_seasons": 5}, "min_seasons: must be between 1 and seasons"),
        ({"sensitivity": 0.0}, "sensitivity: must be a positive"),
        ({"timezone": "Mars/Olympus"}, "timezone: unknown time zone"),
        ({"query": " "}, "query: must not be empty"),
    ],
)
def test_settings_are_checked(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings(**changes)
