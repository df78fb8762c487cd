"""The rollout state machine.

For each stage: journal the intended weight, set it, read it back, journal the result; then
analyse at every interval until a measurement taken once the stage's time is up succeeded for
every metric, or until `gate promote` releases a manual stage. The last stage (weight 100) promotes.

On failure, abort or interrupt: journal the intent, set the canary weight to 0 with retries and
read it back, turn kill switches off, run rollback hooks, journal the outcome. When stable
traffic cannot be restored, :class:`~gate.errors.RollbackError` says what a human must do.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from gate.errors import ConfigError, ProviderError, ProviderRejected, RollbackError
from gate.judge import Verdict
from gate.providers.metrics.interface import MetricsProvider
from gate.providers.traffic.interface import TrafficRouter
from gate.rollout.analysis import Analyzer, JudgeFactory, default_judge_factory
from gate.rollout.events import EventKind, EventSink, RolloutEvent
from gate.rollout.hooks import HookResult, run_hook
from gate.rollout.journal import RolloutJournal, RolloutState, RolloutStatus, now_iso
from gate.rollout.spec import Hook, HookKind, OnInconclusive, RolloutSpec
from gate.rollout.templates import values_for
from gate.secrets import redact

HookRunner = Callable[[Hook, dict[str, str]], HookResult]


class KillSwitches(Protocol):
    """The rollout's feature-flag kill switches."""

    def turn_off(self) -> Sequence[str]:
        """Turn every flag off; return those still on (``flag (why)``), empty when all off."""
        ...

    def probe(self) -> Sequence[str]:
        """Read-only: the flags that could not be switched (``flag (why)``), empty when all can."""
        ...


POLL = 0.25  # how often a waiting controller looks for `gate promote` / `gate abort`
MAX_CLOCK_SKEW = 10.0  # seconds this machine's clock may differ from the metrics server's


@dataclass(frozen=True)
class RolloutResult:
    status: RolloutStatus  # promoted | rolled-back | aborted | interrupted
    reason: str = ""

    @property
    def exit_code(self) -> int:
        if self.status is RolloutStatus.PROMOTED:
            return 0
        if self.status in (RolloutStatus.ROLLED_BACK, RolloutStatus.ABORTED):
            return 1
        return 130


class Interrupted(KeyboardInterrupt):  # never swallowed by `except Exception`
    """Raised by the CLI's signal handler (SIGINT/SIGTERM) inside the controller."""


@dataclass
class Controller:
    spec: RolloutSpec
    router: TrafficRouter
    metrics: MetricsProvider
    journal: RolloutJournal
    emit: EventSink = lambda event: None
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], datetime] = lambda: datetime.now(UTC)  # the time queries are asked at
    sleep: Callable[[float], None] = time.sleep
    kill_switches: KillSwitches | None = None
    hook_runner: HookRunner = run_hook
    judge_factory: JudgeFactory = default_judge_factory
    on_interrupt: str = "rollback"  # or "leave"
    dry_run: bool = False
    rollback_attempts: int = 5
    rollback_backoff: float = 0.5
    state: RolloutState | None = field(default=None, init=False)
    analyzer: Analyzer = field(init=False)

    def __post_init__(self) -> None:
        values = values_for(
            self.spec.service, self.spec.name, self.spec.analysis.interval, self.spec.analysis.args
        )
        self.analyzer = Analyzer(
            self.spec.analysis, self.metrics, values, self.judge_factory, now=self.wall
        )

    # -- bookkeeping --------------------------------------------------------------------------

    def _save(self, **changes: Any) -> RolloutState:
        assert self.state is not None
        self.state = self.state.with_(**changes)
        self.journal.save(self.state)
        return self.state

    def _event(self, kind: EventKind, message: str, **extra: Any) -> None:
        stage = self.state.stage if self.state else 0
        weight = self.state.weight if self.state else None
        message = redact(message)
        fields = {k: v for k, v in extra.items() if k != "measurements"}
        if "measurements" in extra:  # the report and the timeline read them back
            fields["measurements"] = [dataclasses.asdict(m) for m in extra["measurements"]]
        self.journal.audit(kind, message=message, stage=stage, weight=weight, **fields)
        self.emit(
            RolloutEvent(
                kind=kind,
                rollout=self.spec.name,
                message=message,
                stage=stage,
                stages=len(self.spec.stages),
                weight=weight,
                **extra,
            )
        )

    def _context(self) -> dict[str, str]:
        assert self.state is not None
        return {
            "GATE_ROLLOUT": self.spec.name,
            "GATE_SERVICE": self.spec.service,
            "GATE_STAGE": str(self.state.stage),
            "GATE_WEIGHT": str(self.state.weight),
            "GATE_STATUS": self.state.status,
            "GATE_REASON": self.state.reason,
        }

    def _hooks(self, kind: HookKind) -> list[HookResult]:
        results = []
        for hook in self.spec.hooks_of(kind):
            result = self.hook_runner(hook, self._context())
            results.append(result)
            self._event(
                EventKind.HOOK,
                f"{kind} hook {hook.name}: {'ok' if result.ok else 'FAILED'} ({result.detail})",
            )
        return results

    # -- start, resume, abort -----------------------------------------------------------------

    def preflight(self) -> None:
        """Before any traffic moves: reach the router, run every query once, and probe every
        kill switch, so that a wrong socket, a bad query or a flag that could not be turned
        off is bad input (exit 2) with nothing changed."""
        if self.router.canary_weight() is None:
            self._event(
                EventKind.WARNING,
                f"{self.router.describe()} cannot read its canary weight back: gate cannot "
                "verify that a weight change, or the rollback, took effect (give the router "
                "a read-back: readUrl for a webhook, get for a command)",
            )
        for metric, query in self.analyzer.queries():
            try:
                self.metrics.query(query)
            except ProviderRejected as exc:
                raise ConfigError(
                    f"the query was rejected: {exc}", file=self.spec.file, field=f"metric {metric}"
                ) from None
        self._check_clock()
        self._warn_about_short_windows()
        if self.kill_switches is not None:
            problems = list(self.kill_switches.probe())
            if problems:
                raise ProviderRejected(
                    "these kill switches could not be turned off if the rollout fails, so it "
                    "does not start: " + "; ".join(problems),
                    provider="flags",
                )

    def _check_clock(self) -> None:
        """Queries are asked at this machine's time: a clock far behind the metrics server's
        would judge the canary on the past (on data from before it had traffic), one far ahead
        on a future with no data. Refuse to start on such a clock."""
        server_time = getattr(self.metrics, "server_time", None)
        theirs = server_time() if server_time is not None else None
        if theirs is None:
            return
        skew = (self.wall() - theirs).total_seconds()
        if abs(skew) > max(MAX_CLOCK_SKEW, self.spec.analysis.interval):
            side = "behind" if skew < 0 else "ahead of"
            raise ProviderRejected(
                f"this machine's clock is {abs(skew):.0f}s {side} the metrics server's: every "
                f"query would be asked at the wrong time ({'the past' if skew < 0 else 'a future'}"
                " as the server sees it); set the clock right (NTP) and start again",
                provider=self.metrics.name,
            )

    def _warn_about_short_windows(self) -> None:
        """Counting windows shorter than two scrapes hold too few samples for increase():
        counts come out low or missing. Say so before the rollout starts."""
        counted = [m.name for m in self.spec.analysis.metrics if m.counters or m.count_queries]
        scrape = getattr(self.metrics, "scrape_interval", None)
        if not counted or scrape is None:
            return
        seconds = scrape()
        interval = self.spec.analysis.interval
        if seconds is not None and interval < 2 * seconds:
            self._event(
                EventKind.WARNING,
                f"the analysis interval ({interval:g}s) is shorter than twice Prometheus's "
                f"scrape interval ({seconds:g}s): the counts of {', '.join(counted)} will "
                "miss events; make the interval at least "
                f"{2 * seconds:g}s",
            )

    def run(self, *, resume: bool = False) -> RolloutResult:
        """Drive the rollout to promotion or rollback. The caller holds the journal lock."""
        try:
            return self._run(resume)
        except Interrupted:
            if self.state is None or self.state.status is RolloutStatus.STARTING:
                if self.state is not None:
                    self._save(
                        status=RolloutStatus.ABORTED, reason="interrupted before any traffic moved"
                    )
                return RolloutResult(
                    RolloutStatus.INTERRUPTED, "interrupted before any traffic moved"
                )
            if self.state.status is RolloutStatus.ROLLING_BACK:
                # a rollback is finished whatever --on-interrupt says: a failed canary left
                # as interrupted could be resumed and promoted
                result = self._rollback(self.state.reason)
                return RolloutResult(RolloutStatus.INTERRUPTED, result.reason)
            if self.on_interrupt == "leave":
                weight = self._read_weight()
                self._save(status=RolloutStatus.INTERRUPTED, weight=weight, reason="interrupted")
                self._event(
                    EventKind.INTERRUPTED,
                    f"interrupted; traffic LEFT at canary weight {weight}%: run "
                    f"`gate resume {self.spec.name}` or `gate abort {self.spec.name}`",
                )
                return RolloutResult(
                    RolloutStatus.INTERRUPTED, "interrupted; traffic left as it was"
                )
            result = self._rollback("interrupted")
            return RolloutResult(RolloutStatus.INTERRUPTED, result.reason)
        except (ConfigError, ProviderError, RollbackError):
            raise
        except Exception as exc:
            # a bug must not leave traffic on the canary: roll back first, then report it
            if self.state is not None and self.state.status in (
                RolloutStatus.PROGRESSING,
                RolloutStatus.PAUSED,
            ):
                reason = f"internal error ({type(exc).__name__}); rolled back to be safe"
                try:
                    self._rollback(reason)
                except Interrupted:  # later signals are ignored: this rollback runs to its end
                    self._rollback(f"{reason}; interrupted while rolling back")
            raise

    def _run(self, resume: bool) -> RolloutResult:
        previous = self.journal.load()
        if resume:
            if previous is None:
                raise ConfigError(f"no journaled rollout named {self.spec.name} to resume")
            if previous.status not in (
                RolloutStatus.STARTING,
                RolloutStatus.PROGRESSING,
                RolloutStatus.PAUSED,
                RolloutStatus.INTERRUPTED,
            ):
                advice = "nothing to resume"
                if previous.status in (RolloutStatus.ROLLING_BACK, RolloutStatus.ROLLBACK_FAILED):
                    advice = f"run `gate abort {self.spec.name}` to finish rolling back"
                raise ConfigError(f"rollout {self.spec.name} is {previous.status}; {advice}")
            self.state = previous.with_(pid=os.getpid())
            self.journal.save(self.state)
            self.preflight()  # a resumed rollout checks everything again before moving traffic
            if previous.status is RolloutStatus.STARTING:
                return self._begin()  # stopped before its start was complete
            self._save(status=RolloutStatus.PROGRESSING)
            start = previous.stage
            again = ""
            if start == len(self.spec.stages) - 1 and start > 0:
                # the last stage has no analysis of its own: promote only on a measurement
                # made now, never on the evidence of before the stop
                start -= 1
                again = "; its promotion waits for that stage's analysis again"
            self._event(
                EventKind.RESUMED,
                f"resuming at stage {start + 1} (weight {self.spec.stages[start].weight}%)" + again,
            )
        else:
            if previous is not None and previous.status is RolloutStatus.ROLLBACK_FAILED:
                # traffic or flags may still be wrong: a new run must not erase that record
                raise RollbackError(
                    f"the last rollout of {self.spec.name} is still rollback-failed, so no new "
                    f"one starts: {previous.reason}"
                )
            if previous is not None and previous.status in (
                RolloutStatus.STARTING,
                RolloutStatus.PROGRESSING,
                RolloutStatus.PAUSED,
                RolloutStatus.ROLLING_BACK,
                RolloutStatus.INTERRUPTED,
            ):
                raise ConfigError(
                    f"rollout {self.spec.name} is still {previous.status} in the journal; run "
                    f"`gate resume {self.spec.name}` or `gate abort {self.spec.name}` first"
                )
            self.journal.clear_requests()
            self.state = RolloutState(
                name=self.spec.name,
                status=RolloutStatus.STARTING,
                spec=dict(self.spec.raw),
                spec_file=os.path.abspath(self.spec.file) if self.spec.file else "",
                pid=os.getpid(),
                started_at=now_iso(),
                updated_at=now_iso(),
                dry_run=self.dry_run,
                weight=self._read_weight(),
            )
            self.journal.save(self.state)
            try:
                self.preflight()
            except (ConfigError, ProviderError) as exc:
                self._save(status=RolloutStatus.FAILED_TO_START, reason=redact(str(exc)))
                raise
            return self._begin()
        return self._stages(start)

    def _begin(self) -> RolloutResult:
        """After the preflight of a new rollout (or of one stopped in it): announce it, run
        the pre-rollout hooks, then the stages from the first."""
        self._event(
            EventKind.STARTED,
            f"rollout of {self.spec.service} via "
            f"{self.router.describe()}, {len(self.spec.stages)} stages",
        )
        failed = [r for r in self._hooks(HookKind.PRE_ROLLOUT) if not r.ok]
        if failed:
            return self._rollback(f"pre-rollout hook {failed[0].hook} failed: {failed[0].detail}")
        return self._stages(0)

    def abort(self, reason: str) -> RolloutResult:
        """Roll back a journaled rollout (the caller holds the lock). A rollout that never
        moved traffic (it failed or was stopped before its first weight change) is recorded
        as aborted at once: there is nothing to roll back."""
        previous = self.journal.load()
        if previous is None:
            raise ConfigError(f"no journaled rollout named {self.spec.name}")
        self.state = previous.with_(pid=os.getpid())
        if never_moved_traffic(previous):
            self._save(status=RolloutStatus.ABORTED, reason=reason)
            self._event(EventKind.ROLLED_BACK, f"aborted before any traffic moved ({reason})")
            return RolloutResult(RolloutStatus.ABORTED, reason)
        return self._rollback(reason, final_status=RolloutStatus.ABORTED)

    # -- the stages ---------------------------------------------------------------------------

    def _read_weight(self) -> int | None:
        try:
            return self.router.canary_weight()
        except ProviderError:
            return None

    def _set_weight(self, weight: int) -> None:
        self._save(target_weight=weight)  # the intent, before the side effect
        self.router.set_canary_weight(weight)
        actual = self.router.canary_weight()
        if actual is not None and actual != weight:
            raise ProviderRejected(
                f"asked for canary weight {weight}%, the router reports {actual}%",
                provider=self.router.name,
            )
        self._save(weight=weight, target_weight=None)
        self._event(EventKind.WEIGHT, f"canary weight {weight}%")

    def _stages(self, start: int) -> RolloutResult:
        stages = self.spec.stages
        for index in range(start, len(stages)):
            stage = stages[index]
            self._drop_promote(f"it was asked before stage {index + 1} began")
            self._save(stage=index, status=RolloutStatus.PROGRESSING)
            last = index == len(stages) - 1
            if last:
                refused = self._confirm_promotion(index)
                if refused is not None:
                    return self._rollback(refused)
            try:
                self._set_weight(stage.weight)
            except ProviderError as exc:
                return self._rollback(f"could not set canary weight {stage.weight}%: {exc}")
            if last:
                self._save(status=RolloutStatus.PROMOTED, reason="all stages passed")
                self._event(
                    EventKind.PROMOTED, f"promoted: canary weight 100% after {len(stages)} stages"
                )
                self._hooks(HookKind.POST_ROLLOUT)
                return RolloutResult(RolloutStatus.PROMOTED)
            self._event(
                EventKind.STAGE_ADVANCED,
                f"stage {index + 1}/{len(stages)}: canary weight {stage.weight}%",
            )
            failure = self._analyse_stage(index)
            if failure is not None:
                return self._rollback(failure)
        raise AssertionError("the last stage always promotes")  # the spec guarantees weight 100

    def _confirm_promotion(self, index: int) -> str | None:
        """Ask every confirm-promotion hook until it says yes (2xx / exit 0) or its timeout
        passes; None when all confirmed, else why not. Meanwhile the canary keeps the previous
        stage's traffic, so it is still measured at every interval, as Flagger does: a failure
        rolls back, and a yes counts only once the canary's last measurement succeeded."""
        previous = self.spec.stages[index - 1] if index > 0 else None
        interval = self.spec.analysis.interval
        next_tick = self.clock() + interval
        for hook in self.spec.hooks_of(HookKind.CONFIRM_PROMOTION):
            deadline = self.clock() + hook.timeout
            while True:
                result = self.hook_runner(hook, self._context())
                self._event(
                    EventKind.HOOK,
                    f"confirm-promotion hook {hook.name}: "
                    f"{'confirmed' if result.ok else 'not yet'} ({result.detail})",
                )
                ready = previous is None or self.analyzer.stage_has_evidence()
                if result.ok and ready:
                    break
                self.journal.heartbeat()
                aborted = self.journal.take_request("abort")
                if aborted is not None:
                    return f"aborted while waiting for promotion: {aborted}"
                if self.clock() >= deadline:
                    if result.ok:
                        return (
                            f"confirm-promotion hook {hook.name} confirmed, but no measurement "
                            f"of the canary succeeded within {hook.timeout:g}s"
                        )
                    return (
                        f"confirm-promotion hook {hook.name} did not confirm within "
                        f"{hook.timeout:g}s ({result.detail})"
                    )
                if previous is not None and self.clock() >= next_tick:
                    next_tick = self.clock() + interval
                    failure = self._tick(previous.error_threshold, self.clock(), None)
                    if failure is not None:
                        return failure
                self.sleep(min(interval, 5.0))
        return None

    def _analyse_stage(self, index: int) -> str | None:
        """Analyse until the stage may end; return a failure reason, or None to advance."""
        stage = self.spec.stages[index]
        interval = self.spec.analysis.interval
        self.analyzer.new_stage()
        started = self.clock()
        next_tick = started + interval
        measured_at: float | None = None  # when the last measurement began
        while True:
            self.journal.heartbeat()
            aborted = self.journal.take_request("abort")
            if aborted is not None:
                return f"aborted: {aborted}"
            now = self.clock()
            ready = self.analyzer.stage_has_evidence()
            if stage.duration is None:
                promoted = self.journal.take_request("promote") is not None
                if promoted and ready:
                    return self._end_stage()
                if promoted:
                    self._event(
                        EventKind.WARNING,
                        "promote asked, but not every metric has passed in "
                        "this stage yet; promoting after the next success",
                    )
                    self.journal.request("promote", "waiting for evidence")
                if stage.timeout is not None and now - started >= stage.timeout:
                    return f"nobody promoted stage {index + 1} within {stage.timeout:g}s"
            elif ready and self.spec.analysis.promote_early and self.analyzer.stage_proven():
                self._event(
                    EventKind.WARNING,
                    f"stage {index + 1}: every metric proven within tolerance after "
                    f"{now - started:.0f}s of {stage.duration:g}s; going on",
                )
                return self._end_stage()
            elif measured_at is not None and measured_at - started >= stage.duration and ready:
                # the evidence is a measurement taken once the stage's time was up: the
                # stage's last interval is judged too, never skipped
                if self.spec.analysis.promote_early:
                    # proof was asked for: the timer alone never ends the stage
                    return self._inconclusive(
                        f"stage {index + 1} ran its {stage.duration:g}s without every metric "
                        "proven within tolerance"
                    )
                return self._end_stage()
            if now < next_tick:
                self.sleep(min(POLL, next_tick - now))
                continue
            if stage.duration is not None:
                self._drop_promote(f"stage {index + 1} is timed: it ends on its measurements")
            next_tick = max(next_tick + interval, now)
            measured_at = now
            failure = self._tick(stage.error_threshold, started, stage.duration)
            if failure is not None:
                return failure

    def _tick(self, threshold: float | None, started: float, duration: float | None) -> str | None:
        aborted: list[str] = []

        def abort_requested() -> bool:
            self.journal.heartbeat()
            request = self.journal.take_request("abort")
            if request is not None:
                aborted.append(request)
            return request is not None

        measurements = self.analyzer.measure(threshold, stop=abort_requested)
        if measurements is None:  # `gate abort` while queries were still in flight
            return f"aborted: {aborted[0] if aborted else 'abort requested'}"
        verdict, reason = self.analyzer.record(measurements)
        remaining = None if duration is None else max(0.0, duration - (self.clock() - started))
        self._event(
            EventKind.MEASURED,
            "; ".join(m.describe() for m in measurements),
            measurements=tuple(measurements),
            remaining=remaining,
        )
        if verdict is Verdict.FAIL:
            self.journal.audit("analysis-failed", message=redact(reason))  # time to detect
            return f"analysis failed: {reason}"
        if verdict is Verdict.INCONCLUSIVE:
            return self._inconclusive(reason)
        return None

    def _end_stage(self) -> str | None:
        """The stage's own end: its stage-level judgements (Mann-Whitney), then advance."""
        verdict, reason = self.analyzer.finish_stage()
        if verdict is Verdict.FAIL:
            self.journal.audit("analysis-failed", message=redact(reason))  # time to detect
            return f"analysis failed: {reason}"
        if verdict is Verdict.INCONCLUSIVE:
            return self._inconclusive(reason)
        return None

    def _inconclusive(self, reason: str) -> str | None:
        """Pause for a human (or fail, with onInconclusive: fail); None when a human
        promoted: go on."""
        if self.spec.analysis.on_inconclusive is OnInconclusive.FAIL:
            self.journal.audit("analysis-failed", message=redact(f"inconclusive: {reason}"))
            return f"analysis inconclusive: {reason}"
        return self._pause(reason)

    def _pause(self, reason: str) -> str | None:
        self._drop_promote("it was asked before this pause; promote again to go on")
        self._save(status=RolloutStatus.PAUSED, reason=f"inconclusive: {reason}")
        self._event(
            EventKind.PAUSED,
            f"PAUSED, analysis inconclusive: {reason}. Run `gate promote "
            f"{self.spec.name}` to go on or `gate abort {self.spec.name}` to "
            f"roll back (rolls back by itself after "
            f"{self.spec.analysis.pause_timeout:g}s)",
        )
        deadline = self.clock() + self.spec.analysis.pause_timeout
        while self.clock() < deadline:
            self.journal.heartbeat()
            aborted = self.journal.take_request("abort")
            if aborted is not None:
                return f"aborted while paused: {aborted}"
            if self.journal.take_request("promote") is not None:
                self.analyzer.inconclusives.clear()
                self._save(status=RolloutStatus.PROGRESSING, reason="")
                self._event(EventKind.RESUMED, "promoted by hand after an inconclusive analysis")
                return None
            self.sleep(POLL)
        return (
            f"analysis inconclusive and nobody acted within "
            f"{self.spec.analysis.pause_timeout:g}s: {reason}"
        )

    def _drop_promote(self, why: str) -> None:
        """Drop a `gate promote` that nothing waits for, saying so: it releases only the
        paused or manual stage it was asked in, never a later one nobody has looked at."""
        if self.journal.take_request("promote") is not None:
            self._event(EventKind.WARNING, f"`gate promote` ignored: {why}")

    # -- rollback -----------------------------------------------------------------------------

    def _rollback(
        self, reason: str, final_status: RolloutStatus = RolloutStatus.ROLLED_BACK
    ) -> RolloutResult:
        reason = redact(reason)
        self._save(status=RolloutStatus.ROLLING_BACK, reason=reason, target_weight=0)
        self._event(EventKind.ROLLING_BACK, f"ROLLING BACK: {reason}")
        restored, last_error = False, ""
        for attempt in range(self.rollback_attempts):
            try:
                self.router.set_canary_weight(0)
                actual = self.router.canary_weight()
                if actual in (0, None):
                    restored = True
                    self._save(weight=actual, target_weight=None)
                    self._event(  # the moment that ends time to restore
                        EventKind.TRAFFIC_RESTORED,
                        "stable traffic verified: canary 0%"
                        if actual == 0
                        else "canary weight 0% asked for, not verified: the router cannot "
                        "read its weight back",
                    )
                    break
                last_error = f"the router still reports canary weight {actual}%"
            except ProviderError as exc:
                last_error = redact(str(exc))
            self.journal.audit("rollback-retry", attempt=attempt + 1, error=last_error)
            if attempt + 1 < self.rollback_attempts:
                self.sleep(self.rollback_backoff * 2**attempt)
        still_on: list[str] = []
        if self.kill_switches is not None:
            try:
                still_on = list(self.kill_switches.turn_off())
            except Exception as exc:  # noqa: BLE001 - a kill switch failure must be reported
                still_on = [redact(f"kill switches ({type(exc).__name__}: {exc})")]
        self._hooks(HookKind.ROLLBACK)
        if not restored or still_on:
            problems = []
            if not restored:
                problems.append(
                    f"canary traffic could NOT be set to 0 after {self.rollback_attempts} "
                    f"attempts ({last_error}); traffic may still reach the canary through "
                    f"{self.router.describe()}: set its weight to 0 by hand"
                )
            if still_on:
                problems.append(
                    f"these kill switches are still ON: {', '.join(still_on)}; "
                    "turn them off by hand (`gate flags off`)"
                )
            message = (
                f"ROLLBACK FAILED for {self.spec.name} ({reason}): "
                + "; ".join(problems)
                + f". Then run `gate abort {self.spec.name}` to record it."
            )
            self._save(
                status=RolloutStatus.ROLLBACK_FAILED, reason=message, flags_still_on=tuple(still_on)
            )
            self._event(EventKind.ROLLBACK_FAILED, message)
            raise RollbackError(message)
        self._save(status=final_status, reason=reason)
        self._event(EventKind.ROLLED_BACK, f"rolled back: canary weight 0% ({reason})")
        return RolloutResult(final_status, reason)


def never_moved_traffic(state: RolloutState) -> bool:
    """Whether a journaled rollout stopped before its first weight change."""
    return state.status in (RolloutStatus.STARTING, RolloutStatus.FAILED_TO_START)
