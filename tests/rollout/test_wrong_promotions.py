"""Ways a careless spec or an unlucky metrics server could get a bad canary promoted."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gate.errors import ProviderRejected, ProviderUnavailable, RollbackError
from gate.providers.metrics.interface import QueryResult, Sample
from gate.rollout.events import EventKind
from gate.rollout.journal import Journal
from tests.rollout.fakes import Answer, FakeMetrics, FakeRouter, controller, spec

COUNT_QUERIES = {
    "canaryErrors": "ce[{{ interval }}]",
    "canaryRequests": "cr[{{ interval }}]",
    "baselineErrors": "be[{{ interval }}]",
    "baselineRequests": "br[{{ interval }}]",
}
SHORT = [{"weight": 10, "duration": "1m"}, {"weight": 100}]


def test_a_canary_failing_every_request_is_not_promoted_when_the_baseline_has_no_data(
    tmp_path: Path,
) -> None:
    # the baseline's selectors match nothing (a wrong label): with no baseline requests the
    # judge has nothing to compare with, so nothing it says is evidence
    answers: dict[str, Answer] = {"ce": 500.0, "cr": 500.0, "be": None, "br": None}
    metrics = FakeMetrics(lambda query, n: answers[query.split("[")[0]])
    s = spec(
        analysis__metrics=[{"name": "errors", "judge": "sequential", **COUNT_QUERIES}],
        analysis__onInconclusive="fail",
        stages=SHORT,
    )
    router = FakeRouter()
    c, _ = controller(tmp_path, s, metrics, router)
    result = c.run()
    assert result.status == "rolled-back"
    assert "no baseline requests" in result.reason
    assert router.history == [10, 0]


def test_a_slow_canary_is_not_promoted_when_the_baseline_histogram_has_no_data(
    tmp_path: Path,
) -> None:
    class Buckets(FakeMetrics):
        def query(self, query: str, at: datetime | None = None) -> QueryResult:
            self.calls.append(query)
            if query == "base_hist":
                return QueryResult(query, ())
            # every canary request slower than 0.5 s
            return QueryResult(query, (Sample({"le": "0.5"}, 0.0), Sample({"le": "+Inf"}, 400.0)))

    latency = {
        "name": "latency",
        "judge": "sequential-latency",
        "canaryHistogram": "canary_hist",
        "baselineHistogram": "base_hist",
        "threshold": 0.5,
    }
    s = spec(analysis__metrics=[latency], analysis__onInconclusive="fail", stages=SHORT)
    router = FakeRouter()
    c, _ = controller(tmp_path, s, Buckets(lambda query, n: None), router)
    result = c.run()
    assert result.status == "rolled-back"
    assert "no baseline requests" in result.reason
    assert router.history == [10, 0]


def promote_during_first_stage(answers: Callable[[int], Answer]) -> tuple[FakeMetrics, list[Any]]:
    """Metrics answering ``answers(call)``; on the second call an operator runs `gate
    promote` while the first (timed) stage is still measuring."""
    held: list[Any] = []

    def answer(query: str, n: int) -> Answer:
        if n == 2:
            held[0].journal.request("promote", "promoted by hand")
        return answers(n)

    return FakeMetrics(answer), held


def test_a_promote_asked_during_a_timed_stage_does_not_release_a_later_pause(
    tmp_path: Path,
) -> None:
    # stage 2 sees no data once: the rollout pauses for a human, who never answers
    metrics, held = promote_during_first_stage(lambda n: None if n == 8 else 0.01)
    s = spec(
        stages=[
            {"weight": 10, "duration": "1m"},
            {"weight": 50, "duration": "1m"},
            {"weight": 100},
        ],
        analysis__pauseTimeout="5m",
    )
    router = FakeRouter()
    c, events = controller(tmp_path, s, metrics, router)
    held.append(c)
    result = c.run()
    assert result.status == "rolled-back"
    assert "nobody acted within 300s" in result.reason
    assert router.history == [10, 50, 0]
    assert any("`gate promote` ignored: stage 1 is timed" in e.message for e in events)


def test_a_promote_asked_during_a_timed_stage_does_not_release_a_later_manual_stage(
    tmp_path: Path,
) -> None:
    metrics, held = promote_during_first_stage(lambda n: 0.01)
    s = spec(
        stages=[{"weight": 10, "duration": "1m"}, {"weight": 50, "timeout": "5m"}, {"weight": 100}]
    )
    router = FakeRouter()
    c, events = controller(tmp_path, s, metrics, router)
    held.append(c)
    result = c.run()
    assert result.status == "rolled-back"
    assert "nobody promoted stage 2 within 300s" in result.reason
    assert router.history == [10, 50, 0]
    assert any("`gate promote` ignored: stage 1 is timed" in e.message for e in events)


MANN_WHITNEY = {
    "name": "latency",
    "judge": "mann-whitney",
    "query": "p99_canary",
    "baselineQuery": "p99_baseline",
    "direction": "increase",
}


def test_a_canary_whose_metric_is_infinite_is_never_classified_a_pass(tmp_path: Path) -> None:
    # p99 latency of +Inf (the quantile fell in the +Inf bucket): worse than any baseline
    rng = random.Random(5)

    def answer(query: str, n: int) -> Answer:
        if query == "p99_canary":
            return math.inf if n > 1 else 0.2  # the start-up check saw a number
        return 0.2 * (1 + rng.gauss(0, 0.05))

    s = spec(
        analysis__metrics=[MANN_WHITNEY], stages=[{"weight": 10, "duration": "2m"}, {"weight": 100}]
    )
    router = FakeRouter()
    c, _ = controller(tmp_path, s, FakeMetrics(answer), router)
    result = c.run()
    assert result.status == "rolled-back"
    assert "latency=inf" in result.reason
    assert router.history == [10, 0]


def test_an_infinite_baseline_is_no_comparison(tmp_path: Path) -> None:
    def answer(query: str, n: int) -> Answer:
        return math.inf if query == "p99_baseline" else 0.2

    s = spec(
        analysis__metrics=[MANN_WHITNEY],
        analysis__consecutiveErrorLimit=2,
        stages=[{"weight": 10, "duration": "2m"}, {"weight": 100}],
    )
    router = FakeRouter()
    c, _ = controller(tmp_path, s, FakeMetrics(answer), router)
    result = c.run()
    assert result.status == "rolled-back"
    assert "3 errors in a row" in result.reason
    assert router.history == [10, 0]


class Histograms(FakeMetrics):
    """Latency histograms with bounds in seconds: every canary request in the +Inf bucket,
    every baseline request under 0.1 s."""

    def query(self, query: str, at: datetime | None = None) -> QueryResult:
        self.calls.append(query)
        slow = query == "canary_hist"
        return QueryResult(
            query,
            (
                Sample({"le": "0.1"}, 0.0 if slow else 900.0),
                Sample({"le": "0.25"}, 0.0 if slow else 900.0),
                Sample({"le": "+Inf"}, 100.0 if slow else 900.0),
            ),
        )


def test_a_latency_threshold_above_every_bucket_bound_never_passes(tmp_path: Path) -> None:
    # 500 meant as milliseconds, the buckets are in seconds: no request could ever count as
    # slow, so a canary slower than anything the histogram measures would pass
    latency = {
        "name": "latency",
        "judge": "sequential-latency",
        "canaryHistogram": "canary_hist",
        "baselineHistogram": "base_hist",
        "threshold": 500,
    }
    s = spec(analysis__metrics=[latency], stages=SHORT)
    router = FakeRouter()
    c, _ = controller(tmp_path, s, Histograms(lambda query, n: None), router)
    result = c.run()
    assert result.status == "rolled-back"
    assert "no finite bucket bound at or above 500" in result.reason
    assert router.history == [10, 0]


class DownRouter(FakeRouter):
    """A router whose admin API stopped answering."""

    def set_canary_weight(self, percent: int) -> None:
        raise ProviderUnavailable("connection refused", provider="haproxy")

    def canary_weight(self) -> int | None:
        raise ProviderUnavailable("connection refused", provider="haproxy")


def test_a_new_rollout_never_erases_a_rollback_that_failed(tmp_path: Path) -> None:
    # the first run fails its analysis and cannot set weight 0: a human must act
    router = FakeRouter()
    metrics = FakeMetrics(lambda query, n: 0.2)
    first, _ = controller(tmp_path, spec(), metrics, router, rollback_attempts=1)
    original = router.set_canary_weight

    def broken(percent: int) -> None:
        if percent == 0:
            raise ProviderUnavailable("connection refused", provider="haproxy")
        original(percent)

    router.set_canary_weight = broken  # type: ignore[method-assign]
    with pytest.raises(RollbackError):
        first.run()
    # a CI retry runs `gate rollout` again while the router's admin API is still down
    again, _ = controller(tmp_path, spec(), FakeMetrics(lambda query, n: 0.01), DownRouter())
    with pytest.raises(RollbackError) as info:
        again.run()
    assert info.value.exit_code == 4
    assert "ROLLBACK FAILED" in str(info.value)
    assert "gate abort checkout" in str(info.value)
    state = Journal(tmp_path / "state", "checkout").load()
    assert state is not None
    assert state.status == "rollback-failed"  # still says a human must act
    assert router.weight == 1  # the canary still has its traffic


class BlindRouter(FakeRouter):
    """A router that cannot read its weight back (a webhook without readUrl, a command
    without get): it accepts every change and applies none."""

    def set_canary_weight(self, percent: int) -> None:
        self.history.append(percent)

    def canary_weight(self) -> int | None:
        return None


def test_a_router_that_cannot_read_its_weight_back_never_claims_a_verified_rollback(
    tmp_path: Path,
) -> None:
    c, events = controller(tmp_path, spec(), FakeMetrics(lambda query, n: 0.2), BlindRouter())
    result = c.run()
    assert result.status == "rolled-back"
    said = [e.message for e in events]
    assert any("cannot read its canary weight back" in m for m in said), said
    assert not any("stable traffic verified" in m for m in said), said
    assert any("canary weight 0% asked for, not verified" in m for m in said), said


def test_a_canary_that_turns_bad_while_its_promotion_awaits_confirmation_is_not_promoted(
    tmp_path: Path,
) -> None:
    """While a confirm-promotion hook says "not yet" the canary keeps its traffic, so it is
    still measured (Flagger: "While the promotion is paused, Flagger will continue to run the
    metrics checks", fluxcd/flagger docs/gitbook/usage/webhooks.md); it is never promoted on
    the evidence of a stage that ended long before."""
    from gate.rollout.hooks import HookResult

    hooks = {
        "confirm-promotion": [
            {"name": "release-manager", "url": "https://x.test/ok", "timeout": "1h"}
        ]
    }
    calls: list[float] = []

    def runner(hook: object, context: dict[str, str]) -> HookResult:
        calls.append(clock())
        return HookResult("release-manager", clock() - calls[0] >= 600, "HTTP 409")

    # the 1-minute stage passes (7 queries with the start-up check), then errors climb
    metrics = FakeMetrics(lambda query, n: 0.01 if n <= 7 else 0.2)
    router = FakeRouter()
    s = spec(hooks=hooks, stages=SHORT)
    c, events = controller(tmp_path, s, metrics, router, hook_runner=runner)
    clock = c.clock
    result = c.run()
    assert result.status == "rolled-back", [e.message for e in events]
    assert "analysis failed: error-rate=0.2" in result.reason
    assert router.history == [10, 0]


def test_a_confirmed_promotion_waits_for_a_measurement_that_succeeded(tmp_path: Path) -> None:
    from gate.rollout.hooks import HookResult

    hooks = {"confirm-promotion": [{"name": "release-manager", "url": "https://x.test/ok"}]}
    calls: list[float] = []

    def runner(hook: object, context: dict[str, str]) -> HookResult:
        calls.append(clock())
        return HookResult("release-manager", clock() - calls[0] >= 12, "HTTP 200")

    def answer(query: str, n: int) -> Answer:
        # Prometheus fails the one measurement taken while the hook still says no
        return ProviderUnavailable("down", provider="prometheus") if n == 8 else 0.01

    router = FakeRouter()
    s = spec(hooks=hooks, stages=SHORT)
    c, events = controller(tmp_path, s, FakeMetrics(answer), router, hook_runner=runner)
    clock = c.clock
    assert c.run().status == "promoted"
    kinds = [(e.kind, e.message) for e in events]
    confirmed = next(i for i, (_, m) in enumerate(kinds) if "confirmed (HTTP 200)" in m)
    measured = [i for i, (k, m) in enumerate(kinds) if k is EventKind.MEASURED]
    assert "error" in kinds[measured[-2]][1]  # the wait's first measurement failed ...
    assert measured[-1] > confirmed  # ... so the yes waited for the next one, a success
    assert "success" in kinds[measured[-1]][1]
    assert router.history == [10, 100]


def test_max_ratio_against_an_infinite_baseline_is_no_comparison(tmp_path: Path) -> None:
    # both values +Inf: inf/inf is NaN, which passed every maxRatio
    metric = {
        "name": "latency-vs-baseline",
        "query": "canary",
        "baselineQuery": "baseline",
        "maxRatio": 1.5,
    }
    s = spec(analysis__metrics=[metric], analysis__consecutiveErrorLimit=1, stages=SHORT)
    router = FakeRouter()
    c, _ = controller(tmp_path, s, FakeMetrics(lambda query, n: math.inf), router)
    result = c.run()
    assert result.status == "rolled-back"
    assert "the baseline's value is infinite" in result.reason
    assert router.history == [10, 0]


class SkewedMetrics(FakeMetrics):
    """A metrics server whose clock is ``ahead`` seconds ahead of this machine's."""

    def __init__(self, ahead: float) -> None:
        super().__init__(lambda query, n: 0.01)
        self.ahead = ahead

    def server_time(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.ahead)


def test_a_clock_an_hour_behind_the_metrics_server_moves_no_traffic(tmp_path: Path) -> None:
    # every query would be asked an hour in the past: the canary judged on the old version
    router = FakeRouter()
    c, _ = controller(tmp_path, spec(), SkewedMetrics(ahead=3600), router)
    with pytest.raises(ProviderRejected, match=r"clock is 3600s behind the metrics server's"):
        c.run()
    assert router.history == []
    state = Journal(tmp_path / "state", "checkout").load()
    assert state is not None
    assert state.status == "failed-to-start"
    c, _ = controller(tmp_path / "b", spec(), SkewedMetrics(ahead=2), FakeRouter())
    assert c.run().status == "promoted"  # a second or two apart is only the round trip


def test_a_rollout_resumed_at_its_promotion_is_measured_again_first(tmp_path: Path) -> None:
    """The driver was killed as it went to 100 %; hours later `gate resume` finishes the
    promotion only on a measurement it made itself, never on the evidence of before."""

    class Crash(BaseException):
        pass

    router = FakeRouter()
    s = spec(stages=[{"weight": 10, "duration": "1m"}, {"weight": 100}])
    c, _ = controller(tmp_path, s, FakeMetrics(lambda query, n: 0.01), router)
    original = router.set_canary_weight

    def crash_on_100(percent: int) -> None:
        if percent == 100:
            raise Crash  # kill -9 between the journaled intent and the change
        original(percent)

    router.set_canary_weight = crash_on_100  # type: ignore[method-assign]
    with pytest.raises(Crash):
        c.run()
    router.set_canary_weight = original  # type: ignore[method-assign]
    state = Journal(tmp_path / "state", "checkout").load()
    assert state is not None
    assert (state.status, state.stage, state.target_weight) == ("progressing", 1, 100)
    # meanwhile the canary went bad
    resumed, _ = controller(tmp_path, s, FakeMetrics(lambda query, n: 0.2), router)
    result = resumed.run(resume=True)
    assert result.status == "rolled-back"
    assert "analysis failed: error-rate=0.2" in result.reason
    assert router.history == [10, 10, 0]


def test_an_interrupt_during_the_rollback_after_an_internal_error_still_restores_stable(
    tmp_path: Path,
) -> None:
    """A bug rolls the canary back first; a SIGTERM arriving during that rollback (the CI
    runner cancelling the job) must not cut it short."""
    from gate.rollout.controller import Interrupted

    class Broken(FakeRouter):
        interrupted = False

        def set_canary_weight(self, percent: int) -> None:
            if percent == 0 and not self.interrupted:
                self.interrupted = True
                raise Interrupted("SIGTERM")
            super().set_canary_weight(percent)

    def emit(event: Any) -> None:
        if event.kind is EventKind.MEASURED:
            raise RuntimeError("a bug in a progress sink")

    router = Broken()
    c, _ = controller(tmp_path, spec(), FakeMetrics(lambda query, n: 0.01), router)
    c.emit = emit
    with pytest.raises(RuntimeError, match="a bug in a progress sink"):
        c.run()
    assert router.weight == 0
    assert router.history == [1, 0]
    state = Journal(tmp_path / "state", "checkout").load()
    assert state is not None
    assert (state.status, state.weight) == ("rolled-back", 0)
