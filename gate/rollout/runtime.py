"""The rollout runtime: builds every provider a rollout needs, runs the controller, and closes
everything again — the same way for ``gate rollout``, ``gate resume`` and ``gate abort``.

Providers are built in one :class:`contextlib.ExitStack`, those that read secrets first (kill
switches, notifiers), so a missing token is bad input before any client opens; whatever was
built is closed on every way out, including an interrupt. SIGINT and SIGTERM raise
:class:`~gate.rollout.controller.Interrupted` in the controller, which rolls back (or leaves
traffic where it is, when asked).
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from gate.config.loader import Document, load_file
from gate.config.values import check_name
from gate.errors import ConfigError, StateError
from gate.providers.flags.killswitch import KillSwitches, build_flags
from gate.providers.metrics.interface import MetricsProvider
from gate.providers.metrics.registry import PROVIDERS as METRICS_PROVIDERS
from gate.providers.registry import BuildContext, build
from gate.providers.traffic.interface import TrafficRouter
from gate.providers.traffic.registry import ROUTERS, dry_run_router
from gate.rollout.controller import Controller, Interrupted, RolloutResult
from gate.rollout.events import EventSink, fan_out
from gate.rollout.journal import Journal, RolloutState, RolloutStatus, state_dir
from gate.rollout.notifications import build_notifier
from gate.rollout.spec import RolloutSpec, parse_rollout

DRY_RUN_SUFFIX = ".dry-run"


@dataclass(frozen=True)
class Options:
    """How to run: where the journal lives, and who hears the events."""

    state_dir: str | None = None
    dry_run: bool = False
    on_interrupt: str = "rollback"  # or "leave"
    sinks: Sequence[EventSink] = ()
    handle_signals: bool = True


def rollout_name(text: str, what: str = "NAME") -> str:
    """A rollout's name as given on the command line, by the same rule as in a spec."""
    try:
        return check_name(text, "rollout name")
    except ValueError as exc:
        raise ConfigError(str(exc), field=what) from None


def journal(options: Options, name: str) -> Journal:
    return Journal(state_dir(options.state_dir), name)


def load_spec(path: str) -> RolloutSpec:
    return parse_rollout(load_file(path))


def spec_from_state(state: RolloutState) -> RolloutSpec:
    """The spec a journaled rollout was started with (kept in its journal)."""
    return parse_rollout(Document(file=state.spec_file or "<journal>", data=state.spec))


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted once; later ones are ignored while we roll back."""

    def handler(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Interrupted(signal.Signals(signum).name)

    old_int = signal.signal(signal.SIGINT, handler)
    old_term = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


@dataclass
class Built:
    router: TrafficRouter
    metrics: MetricsProvider
    kill_switches: KillSwitches | None
    sinks: list[EventSink]


@contextlib.contextmanager
def providers(spec: RolloutSpec, options: Options, *, notify: bool = True) -> Iterator[Built]:
    """Every provider of ``spec``, built now and closed when the block ends."""
    context = BuildContext(service=spec.service, rollout=spec.name)
    with contextlib.ExitStack() as stack:
        kill = None
        sinks: list[EventSink] = list(options.sinks)
        if not options.dry_run:
            if spec.flags:
                kill = KillSwitches(build_flags(spec.flags, context))
                stack.callback(kill.close)
            if notify and spec.notifications:
                notifier = build_notifier(
                    spec.notifications, service=spec.service, rollout=spec.name
                )
                stack.callback(notifier.close)
                sinks.append(notifier)
        router = dry_run_router() if options.dry_run else build(ROUTERS, spec.traffic, context)
        stack.callback(router.close)
        metrics = build(METRICS_PROVIDERS, spec.metrics_provider, context)
        stack.callback(metrics.close)
        yield Built(router, metrics, kill, sinks)


def _controller(spec: RolloutSpec, journal: Journal, built: Built, options: Options) -> Controller:
    return Controller(
        spec=spec,
        router=built.router,
        metrics=built.metrics,
        journal=journal,
        emit=fan_out(*built.sinks),
        kill_switches=built.kill_switches,
        on_interrupt=options.on_interrupt,
        dry_run=options.dry_run,
    )


def _drive(
    spec: RolloutSpec, options: Options, *, resume: bool, on_built: Callable[[], None]
) -> RolloutResult:
    name = spec.name + (DRY_RUN_SUFFIX if options.dry_run else "")
    j = journal(options, name)
    with providers(spec, options) as built:
        on_built()
        controller = _controller(spec, j, built, options)
        signals = _signals_interrupt() if options.handle_signals else contextlib.nullcontext()
        with j.locked(), signals:
            return controller.run(resume=resume)


def _nothing() -> None:
    return None


def start(
    spec: RolloutSpec, options: Options, *, on_built: Callable[[], None] = _nothing
) -> RolloutResult:
    """Drive a new rollout of ``spec`` to promotion or rollback. ``on_built`` runs once every
    provider is built (every secret read), before anything else happens."""
    return _drive(spec, options, resume=False, on_built=on_built)


def resume(
    name: str, options: Options, *, on_built: Callable[[], None] = _nothing
) -> RolloutResult:
    """Continue a journaled rollout from its stage (after its process died)."""
    state = journal(options, rollout_name(name)).load()
    if state is None:
        raise StateError(f"no journaled rollout named {name}; `gate status` lists them")
    if state.dry_run:
        raise StateError(f"{name} was a dry run; start it again with `gate rollout --dry-run`")
    return _drive(spec_from_state(state), options, resume=True, on_built=on_built)


@dataclass(frozen=True)
class AbortResult:
    status: RolloutStatus | None
    message: str
    exit_code: int


def abort(
    name: str,
    reason: str,
    options: Options,
    *,
    wait_seconds: float = 120.0,
    note: Callable[[str], None] = lambda text: None,
    sleep: Callable[[float], None] = time.sleep,
) -> AbortResult:
    """Roll back a rollout: ask its running process, or do it here when none is left."""
    j = journal(options, rollout_name(name))
    state = j.load()
    if state is None:
        raise StateError(f"no journaled rollout named {name}; `gate status` lists them")
    holder = j.holder()
    if holder is not None:
        j.request("abort", reason)
        note(f"asked process {holder} to roll back {name}; waiting up to {wait_seconds:g}s")
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline and j.holder() is not None:
            sleep(0.1)
        final = j.load()
        status = final.status if final else None
        if status in (RolloutStatus.ROLLED_BACK, RolloutStatus.ABORTED):
            return AbortResult(status, f"{name}: {status}", 1)
        raise StateError(
            f"{name} is {status or 'unknown'} after {wait_seconds:g}s; check `gate status {name}`"
        )
    if state.status in (RolloutStatus.PROMOTED, RolloutStatus.ROLLED_BACK, RolloutStatus.ABORTED):
        return AbortResult(
            state.status,
            f"{name} is already {state.status}; nothing to do",
            1 if state.status is not RolloutStatus.PROMOTED else 0,
        )
    spec = spec_from_state(state)
    with providers(
        spec, Options(state_dir=options.state_dir, sinks=options.sinks), notify=True
    ) as built:
        controller = _controller(spec, j, built, options)
        with j.locked():
            result = controller.abort(reason)
    return AbortResult(result.status, f"{name}: {result.status}", result.exit_code)


def promote(name: str, options: Options) -> int:
    """Ask a running rollout to leave its paused or manual stage; returns the stage number."""
    j = journal(options, rollout_name(name))
    state = j.load()
    if state is None:
        raise StateError(f"no journaled rollout named {name}; `gate status` lists them")
    if state.status not in (RolloutStatus.PROGRESSING, RolloutStatus.PAUSED):
        raise StateError(f"{name} is {state.status}; only a running rollout can be promoted")
    if j.holder() is None:
        raise StateError(
            f"no process is driving {name}; run `gate resume {name}` (or `gate abort {name}`)"
        )
    j.request("promote", "promoted by hand")
    return state.stage + 1


def names(options: Options) -> list[str]:
    from gate.rollout.journal import all_rollouts

    return all_rollouts(Path(state_dir(options.state_dir)))


def load_state(name: str, options: Options) -> tuple[Journal, RolloutState]:
    j = Journal(state_dir(options.state_dir), name)
    state = j.load()
    if state is None:
        raise StateError(f"no journaled rollout named {name} in {state_dir(options.state_dir)}")
    return j, state


def describe(j: Journal, state: RolloutState) -> dict[str, Any]:
    """One rollout's status, and the command that will work next."""
    from gate.rollout.journal import ACTIVE

    holder = j.holder()
    stages = len(state.spec.get("spec", {}).get("stages", [])) or "?"
    name = state.name
    note = ""
    if holder is None:
        if state.status is RolloutStatus.STARTING:
            note = (
                f"it stopped before any traffic moved: run `gate resume {name}` (it checks "
                f"everything again first) or `gate abort {name}` to record it as aborted"
            )
        elif state.status is RolloutStatus.FAILED_TO_START:
            note = "it never moved traffic: fix the reason and run `gate rollout` again"
        elif state.status is RolloutStatus.ROLLING_BACK or state.target_weight is not None:
            note = (
                f"no process is driving it (pid {state.pid} is gone) and it stopped during a "
                f"weight change: run `gate abort {name}` to set canary traffic to 0"
            )
        elif state.status in ACTIVE or state.status is RolloutStatus.INTERRUPTED:
            note = (
                f"no process is driving it (pid {state.pid} is gone) with canary traffic at "
                f"{'an unknown weight' if state.weight is None else f'{state.weight}%'}: run "
                f"`gate resume {name}` or `gate abort {name}`"
            )
        elif state.status is RolloutStatus.ROLLBACK_FAILED:
            note = f"a human must act (see reason), then run `gate abort {name}` to record it"
    return {
        "name": j.name,
        "status": state.status.value,
        "stage": state.stage + 1,
        "stages": stages,
        "weight": state.weight,
        "target_weight": state.target_weight,
        "reason": state.reason,
        "pid": holder,
        "started_at": state.started_at,
        "updated_at": state.updated_at,
        "note": note,
        "flags_still_on": list(state.flags_still_on),
    }
