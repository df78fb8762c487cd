"""The rollout state machine.

For each stage: journal the intended weight, set it, read it back, journal the result; then
analyse at every interval until the stage's time is up (and every metric has had a success),
or until `gate promote` releases a manual stage. The last stage (weight 100) promotes.

On failure, abort or interrupt: journal the intent, set the canary weight to 0 with retries and
read it back, turn kill switches off, run rollback hooks, journal the outcome. When stable
traffic cannot be restored, :class:`~gate.errors.RollbackError` says what a human must do.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gate.errors import ConfigError, ProviderError, ProviderRejected, RollbackError
from gate.providers.metrics.interface import MetricsProvider
from gate.providers.traffic.interface import TrafficRouter
from gate.rollout.analysis import Analyzer, JudgeFactory, Verdict, default_judge_factory
from gate.rollout.events import EventSink, RolloutEvent
from gate.rollout.hooks import HookResult, run_hook
from gate.rollout.journal import Journal, RolloutState, now_iso
from gate.rollout.spec import Hook, RolloutSpec
from gate.rollout.templates import values_for

KillSwitches = Callable[[], Sequence[str]]  # returns the flags still on (empty: all off)
HookRunner = Callable[[Hook, dict[str, str]], HookResult]

POLL = 0.25  # how often a waiting controller looks for `gate promote` / `gate abort`


@dataclass(frozen=True)
class RolloutResult:
    status: str  # promoted | rolled-back | interrupted
    reason: str = ""

    @property
    def exit_code(self) -> int:
        return {"promoted": 0, "rolled-back": 1}.get(self.status, 130)


class Interrupted(Exception):
    """Raised by the CLI's signal handler (SIGINT/SIGTERM) inside the controller."""


@dataclass
class Controller:
    spec: RolloutSpec
    router: TrafficRouter
    metrics: MetricsProvider
    journal: Journal
    emit: EventSink = lambda event: None
    clock: Callable[[], float] = time.monotonic
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
        self.analyzer = Analyzer(self.spec.analysis, self.metrics, values, self.judge_factory)

    # -- bookkeeping --------------------------------------------------------------------------

    def _save(self, **changes: Any) -> RolloutState:
        assert self.state is not None
        self.state = self.state.with_(**changes)
        self.journal.save(self.state)
        return self.state

    def _event(self, kind: str, message: str, **extra: Any) -> None:
        stage = self.state.stage if self.state else 0
        weight = self.state.weight if self.state else None
        self.journal.audit(
            kind,
            message=message,
            stage=stage,
            weight=weight,
            **{k: v for k, v in extra.items() if k != "measurements"},
        )
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

    def _hooks(self, kind: str) -> list[HookResult]:
        results = []
        for hook in self.spec.hooks.get(kind, ()):
            result = self.hook_runner(hook, self._context())
            results.append(result)
            self._event(
                "hook",
                f"{kind} hook {hook.name}: {'ok' if result.ok else 'FAILED'} ({result.detail})",
            )
        return results

    # -- start, resume, abort -----------------------------------------------------------------

    def preflight(self) -> None:
        """Before any traffic moves: reach the router, and run every query once, so that a
        wrong socket or a bad query is bad input (exit 2) with nothing changed."""
        self.router.canary_weight()
        for metric, query in self.analyzer.queries():
            try:
                self.metrics.query(query)
            except ProviderRejected as exc:
                raise ConfigError(
                    f"the query was rejected: {exc}", file=self.spec.file, field=f"metric {metric}"
                ) from None

    def run(self, *, resume: bool = False) -> RolloutResult:
        """Drive the rollout to promotion or rollback. The caller holds the journal lock."""
        try:
            return self._run(resume)
        except Interrupted:
            if self.state is None or self.state.status == "starting":
                if self.state is not None:
                    self._save(status="interrupted", reason="interrupted before any traffic moved")
                return RolloutResult("interrupted", "interrupted before any traffic moved")
            if self.on_interrupt == "leave":
                weight = self._read_weight()
                self._save(status="interrupted", weight=weight, reason="interrupted")
                self._event(
                    "interrupted",
                    f"interrupted; traffic LEFT at canary weight {weight}%: run "
                    f"`gate resume {self.spec.name}` or `gate abort {self.spec.name}`",
                )
                return RolloutResult("interrupted", "interrupted; traffic left as it was")
            result = self._rollback("interrupted")
            return RolloutResult("interrupted", result.reason)

    def _run(self, resume: bool) -> RolloutResult:
        previous = self.journal.load()
        if resume:
            if previous is None:
                raise ConfigError(f"no journaled rollout named {self.spec.name} to resume")
            if previous.status not in ("starting", "progressing", "paused", "interrupted"):
                raise ConfigError(
                    f"rollout {self.spec.name} is {previous.status}; nothing to resume"
                )
            self.state = previous.with_(pid=os.getpid(), status="progressing")
            self.journal.save(self.state)
            start = previous.stage
            self._event(
                "resumed",
                f"resuming at stage {start + 1} (weight {self.spec.stages[start].weight}%)",
            )
        else:
            if previous is not None and previous.status in (
                "starting",
                "progressing",
                "paused",
                "rolling-back",
                "interrupted",
            ):
                raise ConfigError(
                    f"rollout {self.spec.name} is still {previous.status} in the journal; run "
                    f"`gate resume {self.spec.name}` or `gate abort {self.spec.name}` first"
                )
            self.journal.clear_requests()
            self.state = RolloutState(
                name=self.spec.name,
                status="starting",
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
                self._save(status="failed-to-start", reason=str(exc))
                raise
            self._event(
                "started",
                f"rollout of {self.spec.service} via "
                f"{self.router.describe()}, {len(self.spec.stages)} stages",
            )
            start = 0
            failed = [r for r in self._hooks("pre-rollout") if not r.ok]
            if failed:
                return self._rollback(
                    f"pre-rollout hook {failed[0].hook} failed: {failed[0].detail}"
                )
        return self._stages(start)

    def abort(self, reason: str) -> RolloutResult:
        """Roll back a journaled rollout (the caller holds the lock)."""
        previous = self.journal.load()
        if previous is None:
            raise ConfigError(f"no journaled rollout named {self.spec.name}")
        self.state = previous.with_(pid=os.getpid())
        return self._rollback(reason, final_status="aborted")

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
        self._event("weight", f"canary weight {weight}%")

    def _stages(self, start: int) -> RolloutResult:
        stages = self.spec.stages
        for index in range(start, len(stages)):
            stage = stages[index]
            self._save(stage=index, status="progressing")
            last = index == len(stages) - 1
            if last:
                refused = self._confirm_promotion()
                if refused is not None:
                    return self._rollback(refused)
            try:
                self._set_weight(stage.weight)
            except ProviderError as exc:
                return self._rollback(f"could not set canary weight {stage.weight}%: {exc}")
            if last:
                self._save(status="promoted", reason="all stages passed")
                self._event("promoted", f"promoted: canary weight 100% after {len(stages)} stages")
                self._hooks("post-rollout")
                return RolloutResult("promoted")
            self._event(
                "stage-advanced", f"stage {index + 1}/{len(stages)}: canary weight {stage.weight}%"
            )
            failure = self._analyse_stage(index)
            if failure is not None:
                return self._rollback(failure)
        raise AssertionError("the last stage always promotes")  # the spec guarantees weight 100

    def _confirm_promotion(self) -> str | None:
        """Ask every confirm-promotion hook until it says yes (2xx / exit 0) or its timeout
        passes; None when all confirmed, else why not."""
        for hook in self.spec.hooks.get("confirm-promotion", ()):
            deadline = self.clock() + hook.timeout
            while True:
                result = self.hook_runner(hook, self._context())
                self._event(
                    "hook",
                    f"confirm-promotion hook {hook.name}: "
                    f"{'confirmed' if result.ok else 'not yet'} ({result.detail})",
                )
                if result.ok:
                    break
                aborted = self.journal.take_request("abort")
                if aborted is not None:
                    return f"aborted while waiting for promotion: {aborted}"
                if self.clock() >= deadline:
                    return (
                        f"confirm-promotion hook {hook.name} did not confirm within "
                        f"{hook.timeout:g}s ({result.detail})"
                    )
                self.sleep(min(self.spec.analysis.interval, 5.0))
        return None

    def _analyse_stage(self, index: int) -> str | None:
        """Analyse until the stage may end; return a failure reason, or None to advance."""
        stage = self.spec.stages[index]
        interval = self.spec.analysis.interval
        self.analyzer.new_stage()
        started = self.clock()
        next_tick = started + interval
        while True:
            aborted = self.journal.take_request("abort")
            if aborted is not None:
                return f"aborted: {aborted}"
            now = self.clock()
            if stage.duration is None:
                promoted = self.journal.take_request("promote") is not None
                if promoted and self.analyzer.stage_has_evidence():
                    return None
                if promoted:
                    self._event(
                        "warning",
                        "promote asked, but not every metric has passed in "
                        "this stage yet; promoting after the next success",
                    )
                    self.journal.request("promote", "waiting for evidence")
                if stage.timeout is not None and now - started >= stage.timeout:
                    return f"nobody promoted stage {index + 1} within {stage.timeout:g}s"
            elif now - started >= stage.duration and self.analyzer.stage_has_evidence():
                return None
            if now < next_tick:
                self.sleep(min(POLL, next_tick - now))
                continue
            next_tick = max(next_tick + interval, now)
            failure = self._tick(stage.error_threshold, started, stage.duration)
            if failure is not None:
                return failure

    def _tick(self, threshold: float | None, started: float, duration: float | None) -> str | None:
        measurements = self.analyzer.measure(threshold)
        verdict, reason = self.analyzer.record(measurements)
        remaining = None if duration is None else max(0.0, duration - (self.clock() - started))
        self._event(
            "measured",
            "; ".join(m.describe() for m in measurements),
            measurements=tuple(measurements),
            remaining=remaining,
        )
        if verdict is Verdict.FAIL:
            return f"analysis failed: {reason}"
        if verdict is Verdict.INCONCLUSIVE:
            if self.spec.analysis.on_inconclusive == "fail":
                return f"analysis inconclusive: {reason}"
            return self._pause(reason)
        return None

    def _pause(self, reason: str) -> str | None:
        self._save(status="paused", reason=f"inconclusive: {reason}")
        self._event(
            "paused",
            f"PAUSED, analysis inconclusive: {reason}. Run `gate promote "
            f"{self.spec.name}` to go on or `gate abort {self.spec.name}` to "
            f"roll back (rolls back by itself after "
            f"{self.spec.analysis.pause_timeout:g}s)",
        )
        deadline = self.clock() + self.spec.analysis.pause_timeout
        while self.clock() < deadline:
            aborted = self.journal.take_request("abort")
            if aborted is not None:
                return f"aborted while paused: {aborted}"
            if self.journal.take_request("promote") is not None:
                self.analyzer.inconclusives.clear()
                self._save(status="progressing", reason="")
                self._event("resumed", "promoted by hand after an inconclusive analysis")
                return None
            self.sleep(POLL)
        return (
            f"analysis inconclusive and nobody acted within "
            f"{self.spec.analysis.pause_timeout:g}s: {reason}"
        )

    # -- rollback -----------------------------------------------------------------------------

    def _rollback(self, reason: str, final_status: str = "rolled-back") -> RolloutResult:
        self._save(status="rolling-back", reason=reason, target_weight=0)
        self._event("rolling-back", f"ROLLING BACK: {reason}")
        restored, last_error = False, ""
        for attempt in range(self.rollback_attempts):
            try:
                self.router.set_canary_weight(0)
                actual = self.router.canary_weight()
                if actual in (0, None):
                    restored = True
                    self._save(weight=actual, target_weight=None)
                    break
                last_error = f"the router still reports canary weight {actual}%"
            except ProviderError as exc:
                last_error = str(exc)
            self.journal.audit("rollback-retry", attempt=attempt + 1, error=last_error)
            if attempt + 1 < self.rollback_attempts:
                self.sleep(self.rollback_backoff * 2**attempt)
        still_on: list[str] = []
        if self.kill_switches is not None:
            try:
                still_on = list(self.kill_switches())
            except Exception as exc:  # noqa: BLE001 - a kill switch failure must be reported
                still_on = [f"kill switches ({type(exc).__name__}: {exc})"]
        self._hooks("rollback")
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
            self._save(status="rollback-failed", reason=message, flags_still_on=tuple(still_on))
            self._event("rollback-failed", message)
            raise RollbackError(message)
        self._save(status=final_status, reason=reason)
        self._event("rolled-back", f"rolled back: canary weight 0% ({reason})")
        return RolloutResult("rolled-back", reason)
