"""The rollout state machine with fakes: promotion, rollback, limits, no data, crashes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from gate.errors import (
    ConfigError,
    ProviderRejected,
    ProviderUnavailable,
    RollbackError,
    StateError,
)
from gate.rollout.controller import Interrupted
from gate.rollout.events import EventKind
from gate.rollout.journal import Journal
from tests.rollout.fakes import (
    FakeKillSwitches,
    FakeMetrics,
    FakeRouter,
    controller,
    rejected,
    spec,
)


def constant(value: object) -> FakeMetrics:
    return FakeMetrics(lambda q, n: value)  # type: ignore[arg-type,return-value]


def test_healthy_canary_is_promoted_through_every_stage(tmp_path: Path) -> None:
    router = FakeRouter()
    c, events = controller(tmp_path, spec(), constant(0.01), router)
    result = c.run()
    assert (result.status, result.exit_code) == ("promoted", 0)
    assert router.history == [1, 5, 25, 100]
    state = Journal(tmp_path / "state", "checkout").load()
    assert state is not None
    assert (state.status, state.weight) == ("promoted", 100)
    assert [e.kind for e in events].count(EventKind.MEASURED) == 18  # at 10 s … 60 s a stage
    assert events[-1].kind == "promoted"


def test_metrics_that_answer_once_then_go_down_never_promote(tmp_path: Path) -> None:
    """The measurement due when a stage's time is up is taken before the stage ends: a source
    that answered once in the stage and then went down is found out, not promoted past."""
    router = FakeRouter()
    metrics = FakeMetrics(lambda q, n: 0.01 if n <= 2 else ProviderUnavailable("refused"))
    s = spec(stages=[{"weight": 10, "duration": "20s"}, {"weight": 100}])
    c, _events = controller(tmp_path, s, metrics, router)
    result = c.run()
    assert result.status == "rolled-back"
    assert router.history == [10, 0]
    assert "5 errors in a row, limit 4" in result.reason


def test_the_service_is_substituted_and_escaped_in_queries(tmp_path: Path) -> None:
    metrics = constant(0.01)
    s = spec()
    c, _ = controller(tmp_path, s, metrics)
    c.run()
    assert metrics.calls[0] == 'errors{service="checkout"}'


def test_a_failed_measurement_rolls_back_with_the_reason(tmp_path: Path) -> None:
    router = FakeRouter()
    metrics = FakeMetrics(lambda q, n: 0.01 if n < 9 else 0.2)
    c, _events = controller(tmp_path, spec(), metrics, router)
    result = c.run()
    assert (result.status, result.exit_code) == ("rolled-back", 1)
    assert router.history == [1, 5, 0]
    assert "error-rate=0.2 [≤ 0.05] failure" in result.reason
    state = Journal(tmp_path / "state", "checkout").load()
    assert state is not None
    assert (state.status, state.weight) == ("rolled-back", 0)


def test_failure_limit_allows_that_many_failures(tmp_path: Path) -> None:
    metrics = FakeMetrics(lambda q, n: 0.2 if n in (3, 5) else 0.01)
    c, _ = controller(tmp_path, spec(analysis__failureLimit=2), metrics)
    assert c.run().status == "promoted"
    metrics = FakeMetrics(lambda q, n: 0.2 if n in (3, 5, 7) else 0.01)
    c, _ = controller(tmp_path / "b", spec(analysis__failureLimit=2), metrics)
    assert c.run().status == "rolled-back"


def test_every_measurement_erroring_never_passes(tmp_path: Path) -> None:
    router = FakeRouter()
    metrics = FakeMetrics(lambda q, n: 0.01 if n == 1 else ProviderUnavailable("down"))
    c, _events = controller(tmp_path, spec(), metrics, router)
    result = c.run()
    assert result.status == "rolled-back"
    assert 100 not in router.history
    assert "5 errors in a row, limit 4" in result.reason


def test_errors_below_the_limit_extend_the_stage_until_a_success(tmp_path: Path) -> None:
    # errors in every interval except each 4th: never 5 in a row, successes keep coming
    metrics = FakeMetrics(lambda q, n: 0.01 if n % 4 == 1 else ProviderUnavailable("flaky"))
    router = FakeRouter()
    c, _ = controller(tmp_path, spec(), metrics, router)
    assert c.run().status == "promoted"


@pytest.mark.parametrize("no_data", [None, math.nan])
def test_no_data_is_inconclusive_and_never_a_promotion(tmp_path: Path, no_data: object) -> None:
    router = FakeRouter()
    s = spec(analysis__inconclusiveLimit=2, analysis__onInconclusive="fail")
    c, _ = controller(tmp_path, s, constant(no_data), router)
    result = c.run()
    assert result.status == "rolled-back"
    assert "inconclusive" in result.reason
    assert router.history == [1, 0]


def test_inconclusive_pauses_then_rolls_back_when_nobody_acts(tmp_path: Path) -> None:
    router = FakeRouter()
    s = spec(analysis__pauseTimeout="5m")
    c, events = controller(tmp_path, s, constant(None), router)
    result = c.run()
    assert "paused" in [e.kind for e in events]
    assert "nobody acted within 300s" in result.reason
    assert router.history == [1, 0]


def test_inconclusive_pause_released_by_promote(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "state", "checkout")

    def answer(q: str, n: int) -> float | None:
        if n == 1:
            return 0.01  # the start-up check
        return None if n == 2 else 0.01

    c, events = controller(tmp_path, spec(), FakeMetrics(answer))
    wait = c.sleep

    def sleep(seconds: float) -> None:
        if c.state is not None and c.state.status == "paused":
            journal.request("promote", "looked at it")  # as `gate promote` would, while paused
        wait(seconds)

    c.sleep = sleep
    assert c.run().status == "promoted"
    kinds = [e.kind for e in events]
    assert (
        kinds.index(EventKind.PAUSED)
        < kinds.index(EventKind.RESUMED)
        < kinds.index(EventKind.PROMOTED)
    )


def test_on_no_data_pass_is_an_explicit_choice(tmp_path: Path) -> None:
    metric = {"name": "error-rate", "query": "q", "max": 0.05, "onNoData": "pass"}
    c, _ = controller(tmp_path, spec(analysis__metrics=[metric]), constant(None))
    assert c.run().status == "promoted"


def test_infinities_and_several_series(tmp_path: Path) -> None:
    c, _ = controller(tmp_path, spec(), constant(math.inf))
    assert "error-rate=inf" in c.run().reason
    c, _ = controller(tmp_path / "b", spec(), constant([0.01, 0.02]))
    result = c.run()
    assert "returned 2 series" in result.reason
    metric = {"name": "error-rate", "query": "q", "max": 0.05, "aggregate": "max"}
    c, _ = controller(tmp_path / "c", spec(analysis__metrics=[metric]), constant([0.01, 0.2]))
    assert "error-rate=0.2" in c.run().reason
    low = {"name": "throughput", "query": "q", "min": 1}
    c, _ = controller(tmp_path / "d", spec(analysis__metrics=[low]), constant(math.inf))
    assert c.run().status == "promoted"


def test_max_ratio_against_the_baseline(tmp_path: Path) -> None:
    metric = {
        "name": "errors-vs-baseline",
        "query": "canary",
        "baselineQuery": "baseline",
        "maxRatio": 2.0,
    }
    ok = FakeMetrics(lambda q, n: 0.02 if q == "canary" else 0.01)
    c, _ = controller(tmp_path, spec(analysis__metrics=[metric]), ok)
    assert c.run().status == "promoted"
    bad = FakeMetrics(lambda q, n: 0.04 if q == "canary" else 0.01)
    c, _ = controller(tmp_path / "b", spec(analysis__metrics=[metric]), bad)
    assert "4× baseline, above 2×" in c.run().reason


def test_stage_error_threshold_overrides_max_of_error_metrics(tmp_path: Path) -> None:
    stages = [
        {"weight": 1, "duration": "30s", "errorThreshold": 0.1},
        {"weight": 5, "duration": "30s"},
        {"weight": 100},
    ]
    router = FakeRouter()
    c, _ = controller(tmp_path, spec(stages=stages), constant(0.07), router)
    result = c.run()
    assert router.history == [1, 5, 0]  # passed at 1 % (≤ 0.1), failed at 5 % (≤ 0.05)
    assert "[≤ 0.05]" in result.reason


def test_a_bad_query_at_start_is_bad_input_and_moves_no_traffic(tmp_path: Path) -> None:
    router = FakeRouter()
    c, _ = controller(tmp_path, spec(), FakeMetrics(lambda q, n: rejected()), router)
    with pytest.raises(ConfigError, match="metric error-rate: the query was rejected"):
        c.run()
    assert router.history == []
    state = Journal(tmp_path / "state", "checkout").load()
    assert state is not None
    assert state.status == "failed-to-start"


def test_rollback_retries_then_succeeds(tmp_path: Path) -> None:
    router = FakeRouter()
    metrics = FakeMetrics(lambda q, n: 0.2)
    c, _ = controller(tmp_path, spec(), metrics, router)
    router.fail_sets = 0
    original = router.set_canary_weight

    def flaky(percent: int) -> None:
        if percent == 0 and router.history.count(0) == 0 and not getattr(flaky, "failed", 0):
            flaky.failed = 1  # type: ignore[attr-defined]
            raise ProviderUnavailable("socket busy", provider="fake")
        original(percent)

    router.set_canary_weight = flaky  # type: ignore[method-assign]
    assert c.run().status == "rolled-back"
    assert router.weight == 0


def test_rollback_that_cannot_restore_stable_is_loud_and_exit_4(tmp_path: Path) -> None:
    router = FakeRouter()
    c, _events = controller(tmp_path, spec(), constant(0.2), router)
    original = router.set_canary_weight

    def broken(percent: int) -> None:
        if percent == 0:
            raise ProviderUnavailable("connection refused", provider="haproxy")
        original(percent)

    router.set_canary_weight = broken  # type: ignore[method-assign]
    with pytest.raises(RollbackError) as info:
        c.run()
    assert info.value.exit_code == 4
    message = str(info.value)
    assert "ROLLBACK FAILED" in message
    assert "could NOT be set to 0 after 5 attempts (haproxy: connection refused)" in message
    assert "gate abort checkout" in message
    state = Journal(tmp_path / "state", "checkout").load()
    assert state is not None
    assert state.status == "rollback-failed"


def test_kill_switches_still_on_are_named_and_exit_4(tmp_path: Path) -> None:
    stuck = FakeKillSwitches(still_on=["unleash:new-ui"])
    c, _ = controller(tmp_path, spec(), constant(0.2), kill_switches=stuck)
    with pytest.raises(RollbackError, match=r"kill switches are still ON: unleash:new-ui"):
        c.run()
    switches = FakeKillSwitches()
    c, _ = controller(tmp_path / "b", spec(), constant(0.2), kill_switches=switches)
    assert c.run().status == "rolled-back"
    assert switches.turned_off == 1


def test_a_kill_switch_that_could_not_be_turned_off_stops_the_start(tmp_path: Path) -> None:
    switches = FakeKillSwitches(unreachable=["flagd:default/new-ui@production (no such file)"])
    router = FakeRouter()
    c, _ = controller(tmp_path, spec(), constant(0.0), router, kill_switches=switches)
    with pytest.raises(ProviderRejected, match=r"could not be turned off .*new-ui.*no such file"):
        c.run()
    assert router.history == []
    state = Journal(tmp_path / "state", "checkout").load()
    assert state is not None
    assert state.status == "failed-to-start"


def test_interrupt_rolls_back_or_leaves_traffic(tmp_path: Path) -> None:
    def interrupt_on(n: int) -> FakeMetrics:
        def answer(q: str, i: int) -> float:
            if i == n:
                raise Interrupted("SIGTERM")
            return 0.01

        return FakeMetrics(answer)

    router = FakeRouter()
    c, _ = controller(tmp_path, spec(), interrupt_on(9), router)
    result = c.run()
    assert (result.status, result.exit_code) == ("interrupted", 130)
    assert router.weight == 0
    router = FakeRouter()
    c, events = controller(tmp_path / "b", spec(), interrupt_on(9), router, on_interrupt="leave")
    c.run()
    assert router.weight == 5
    assert "traffic LEFT at canary weight 5%" in events[-1].message


def test_crash_between_intent_and_action_then_abort(tmp_path: Path) -> None:
    router = FakeRouter()
    c, _ = controller(tmp_path, spec(), constant(0.01), router)

    class Crash(BaseException):
        pass

    original = router.set_canary_weight

    def crash_on_5(percent: int) -> None:
        if percent == 5:
            raise Crash
        original(percent)

    router.set_canary_weight = crash_on_5  # type: ignore[method-assign]
    with pytest.raises(Crash):
        c.run()
    journal = Journal(tmp_path / "state", "checkout")
    state = journal.load()
    assert state is not None
    assert (state.status, state.stage, state.weight, state.target_weight) == (
        "progressing",
        1,
        1,
        5,
    )
    router.set_canary_weight = original  # type: ignore[method-assign]
    again, _ = controller(tmp_path, spec(), constant(0.01), router)
    with pytest.raises(ConfigError, match="still progressing in the journal"):
        again.run()
    again.abort("operator")
    state = journal.load()
    assert state is not None
    assert (state.status, state.weight, router.weight) == ("aborted", 0, 0)


def test_resume_continues_from_the_journaled_stage(tmp_path: Path) -> None:
    router = FakeRouter()
    c, _ = controller(
        tmp_path,
        spec(),
        FakeMetrics(lambda q, n: (_ for _ in ()).throw(KeyboardInterrupt()) if n == 8 else 0.01),
        router,
    )
    with pytest.raises(KeyboardInterrupt):  # a crash the controller does not handle
        c.run()
    assert router.history == [1, 5]
    resumed, _ = controller(tmp_path, spec(), constant(0.01), router)
    assert resumed.run(resume=True).status == "promoted"
    assert router.history == [1, 5, 5, 25, 100]


def test_resume_after_a_stop_in_preflight_starts_as_a_new_run_does(tmp_path: Path) -> None:
    """Stopped during its preflight (status starting), a rollout never reached its
    pre-rollout hooks: resuming it checks everything again and then runs them, once."""
    from gate.rollout.hooks import HookResult

    ran: list[str] = []

    def runner(hook: object, context: dict[str, str]) -> HookResult:
        ran.append(context["GATE_STATUS"])
        return HookResult("announce", True, "exit 0")

    hooks = {"pre-rollout": [{"name": "announce", "command": ["true"]}]}
    router = FakeRouter()
    c, _ = controller(
        tmp_path,
        spec(hooks=hooks),
        FakeMetrics(lambda q, n: (_ for _ in ()).throw(KeyboardInterrupt())),
        router,
        hook_runner=runner,
    )
    with pytest.raises(KeyboardInterrupt):  # killed in the preflight query
        c.run()
    state = Journal(tmp_path / "state", "checkout").load()
    assert state is not None
    assert state.status == "starting"
    resumed, events = controller(
        tmp_path, spec(hooks=hooks), constant(0.01), router, hook_runner=runner
    )
    assert resumed.run(resume=True).status == "promoted"
    assert ran == ["starting"]
    assert EventKind.STARTED in [e.kind for e in events]
    assert router.history == [1, 5, 25, 100]


def test_resume_of_a_rollback_cut_short_says_to_abort(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "state", "checkout")
    c, _ = controller(tmp_path, spec(), constant(0.2), FakeRouter())
    c.run()
    state = journal.load()
    assert state is not None
    journal.save(state.with_(status="rolling-back", target_weight=0))
    again, _ = controller(tmp_path, spec(), constant(0.01), FakeRouter())
    with pytest.raises(ConfigError, match=r"rolling-back; run `gate abort checkout` to finish"):
        again.run(resume=True)


def test_manual_stage_waits_for_promote_and_abort_requests(tmp_path: Path) -> None:
    stages: list[dict[str, Any]] = [{"weight": 10}, {"weight": 100}]
    journal = Journal(tmp_path / "state", "checkout")

    def answer(q: str, n: int) -> float:
        if n == 30:
            journal.request("promote", "ok")
        return 0.01

    router = FakeRouter()
    c, _ = controller(tmp_path, spec(stages=stages), FakeMetrics(answer), router)
    assert c.run().status == "promoted"
    assert router.history == [10, 100]
    stages = [{"weight": 10, "timeout": "2m"}, {"weight": 100}]
    router = FakeRouter()
    c, _ = controller(tmp_path / "b", spec(stages=stages), constant(0.01), router)
    assert "nobody promoted stage 1 within 120s" in c.run().reason
    aborting = Journal(tmp_path / "c" / "state", "checkout")

    def abort_at(q: str, n: int) -> float:
        if n == 3:
            aborting.request("abort", "INC-4")
        return 0.01

    c, _ = controller(tmp_path / "c", spec(), FakeMetrics(abort_at))
    assert c.run().reason == "aborted: INC-4"


def test_lock_stops_a_second_driver(tmp_path: Path) -> None:
    first = Journal(tmp_path, "checkout")
    first.acquire()
    try:
        with pytest.raises(StateError, match="being driven by pid"):
            Journal(tmp_path, "checkout").acquire()
        assert Journal(tmp_path, "checkout").holder() is not None
    finally:
        first.release()
    assert Journal(tmp_path, "checkout").holder() is None


def test_a_sequential_judge_metric_rolls_back_a_worse_canary(tmp_path: Path) -> None:
    metric = {
        "name": "errors",
        "judge": "sequential",
        "alpha": 0.01,
        "canaryErrors": "ce",
        "canaryRequests": "cr",
        "baselineErrors": "be",
        "baselineRequests": "br",
    }
    rates = {"ce": 30.0, "cr": 1000.0, "be": 100.0, "br": 10000.0}  # canary 3 %, baseline 1 %
    router = FakeRouter()
    c, _ = controller(
        tmp_path, spec(analysis__metrics=[metric]), FakeMetrics(lambda q, n: rates[q]), router
    )
    result = c.run()
    assert result.status == "rolled-back"
    assert "canary errors significantly above baseline" in result.reason
    same = {"ce": 10.0, "cr": 1000.0, "be": 100.0, "br": 10000.0}
    c, _ = controller(
        tmp_path / "b", spec(analysis__metrics=[metric]), FakeMetrics(lambda q, n: same[q])
    )
    assert c.run().status == "promoted"


def test_a_sequential_latency_metric_rolls_back_a_slower_canary(tmp_path: Path) -> None:
    from gate.providers.metrics.interface import QueryResult, Sample

    metric = {
        "name": "latency",
        "judge": "sequential-latency",
        "threshold": 0.5,
        "canaryHistogram": "canary",
        "baselineHistogram": "baseline",
    }

    class Histograms(FakeMetrics):
        def __init__(self, slow_share: float) -> None:
            super().__init__(lambda q, n: None)
            self.slow = slow_share

        def query(self, query: str, at: object = None) -> QueryResult:
            total = 1000.0 if query == "canary" else 9000.0
            share = self.slow if query == "canary" else 0.05
            fast = total * (1 - share)
            return QueryResult(query, (Sample({"le": "0.5"}, fast), Sample({"le": "+Inf"}, total)))

    c, _ = controller(tmp_path, spec(analysis__metrics=[metric]), Histograms(0.15))
    result = c.run()
    assert result.status == "rolled-back"
    assert "slower than 0.5s more often" in result.reason
    c, _ = controller(tmp_path / "b", spec(analysis__metrics=[metric]), Histograms(0.05))
    assert c.run().status == "promoted"


def test_confirm_promotion_waits_for_a_yes_then_gives_up(tmp_path: Path) -> None:
    from gate.rollout.hooks import HookResult

    answers = iter([False, False, True])
    hooks = {
        "confirm-promotion": [{"name": "release-manager", "command": ["true"], "timeout": "1m"}]
    }

    def runner(hook: object, context: dict[str, str]) -> HookResult:
        return HookResult("release-manager", next(answers, False), "exit 0")

    router = FakeRouter()
    c, _ = controller(tmp_path, spec(hooks=hooks), constant(0.01), router, hook_runner=runner)
    assert c.run().status == "promoted"
    router = FakeRouter()
    c, _ = controller(
        tmp_path / "b",
        spec(hooks=hooks),
        constant(0.01),
        router,
        hook_runner=lambda h, ctx: HookResult("release-manager", False, "HTTP 409"),
    )
    result = c.run()
    assert result.reason == (
        "confirm-promotion hook release-manager did not confirm within 60s (HTTP 409)"
    )
    assert 100 not in router.history


def test_an_unreachable_router_at_start_changes_nothing(tmp_path: Path) -> None:
    router = FakeRouter()

    def unreachable() -> int:
        raise ProviderUnavailable("no such socket /run/haproxy/admin.sock", provider="haproxy")

    router.canary_weight = unreachable  # type: ignore[method-assign]
    c, _ = controller(tmp_path, spec(), constant(0.01), router)
    with pytest.raises(ProviderUnavailable, match="no such socket"):
        c.run()
    assert router.history == []
    state = Journal(tmp_path / "state", "checkout").load()
    assert state is not None
    assert state.status == "failed-to-start"


def test_an_interrupt_during_a_rollback_finishes_it_even_when_asked_to_leave_traffic(
    tmp_path: Path,
) -> None:
    """--on-interrupt leave keeps a healthy canary where it is; it never stops a rollback
    half way: a failed canary left as `interrupted` could be resumed and promoted."""

    class InterruptedOnce(FakeRouter):
        cut_short = False

        def set_canary_weight(self, percent: int) -> None:
            if percent == 0 and not self.cut_short:
                self.cut_short = True  # the first try at 0 is cut short by SIGTERM
                raise Interrupted("SIGTERM")
            super().set_canary_weight(percent)

    router = InterruptedOnce()
    c, _ = controller(tmp_path, spec(), constant(0.5), router, on_interrupt="leave")
    result = c.run()
    assert (result.status, result.exit_code) == ("interrupted", 130)
    assert router.weight == 0
    state = Journal(tmp_path / "state", "checkout").load()
    assert state is not None
    assert state.status == "rolled-back"
    assert "analysis failed" in state.reason
