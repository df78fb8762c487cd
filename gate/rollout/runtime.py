"""The rollout runtime: builds every provider a rollout needs, runs the controller, and closes
everything again — the same way for ``gate rollout``, ``gate resume`` and ``gate abort``.

Providers are built in one :class:`contextlib.ExitStack`, those that read secrets first (kill
switches, notifiers), so a missing token is bad input before any client opens; whatever was
built is closed on every way out, including an interrupt. SIGINT and SIGTERM raise
:class:`~gate.rollout.controller.Interrupted` in the controller, which rolls back (or leaves
traffic where it is, when asked).

The journal lives in a :class:`~gate.rollout.journal.StateStore` opened per command: the local
directory, or PostgreSQL when a state URL is given (then the driver holds a lease, and any
machine with the same URL can see, abort or reap the rollout).
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

from gate.config.loader import Document, load_file
from gate.config.values import check_name
from gate.errors import ConfigError, ProviderError, RollbackError, StateError
from gate.providers.flags.killswitch import KillSwitches, build_flags
from gate.providers.metrics.interface import MetricsProvider
from gate.providers.metrics.registry import PROVIDERS as METRICS_PROVIDERS
from gate.providers.registry import BuildContext, build
from gate.providers.traffic.interface import TrafficRouter
from gate.providers.traffic.registry import ROUTERS, dry_run_router
from gate.rollout.controller import Controller, Interrupted, RolloutResult, never_moved_traffic
from gate.rollout.events import EventSink, fan_out
from gate.rollout.journal import (
    ACTIVE,
    DEFAULT_LEASE,
    Busy,
    LeaseLost,
    RolloutJournal,
    RolloutState,
    RolloutStatus,
    StateStore,
    Unreadable,
    live_driver,
)
from gate.rollout.notifications import build_notifier
from gate.rollout.spec import RolloutSpec, parse_rollout
from gate.rollout.stores import open_store
from gate.secrets import redact

DRY_RUN_SUFFIX = ".dry-run"


@dataclass(frozen=True)
class Options:
    """How to run: where the journal lives, and who hears the events."""

    state_dir: str | None = None
    state_url: str | None = None  # postgresql://… (checked by gate.rollout.journal)
    state_url_on_command_line: bool = False
    lease_seconds: float = DEFAULT_LEASE
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


@contextlib.contextmanager
def store(options: Options) -> Iterator[StateStore]:
    """The state store ``options`` choose, closed when the block ends."""
    opened = open_store(
        options.state_dir,
        options.state_url,
        lease_seconds=options.lease_seconds,
        on_command_line=options.state_url_on_command_line,
    )
    try:
        yield opened
    finally:
        opened.close()


def check_lease(spec: RolloutSpec, lease_seconds: float | None) -> None:
    """A hook blocks the driver without renewing its lease: the lease must outlast the
    longest hook, or a slow hook would let `gate reap` roll back a live rollout."""
    if lease_seconds is None:
        return
    for hooks in spec.hooks.values():
        for hook in hooks:
            if hook.timeout >= lease_seconds:
                raise ConfigError(
                    f"the lease ({lease_seconds:g}s) must be longer than hook {hook.name}'s "
                    f"timeout ({hook.timeout:g}s)",
                    field="--lease-seconds",
                )


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


def _controller(
    spec: RolloutSpec, journal: RolloutJournal, built: Built, options: Options
) -> Controller:
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
    with store(options) as opened:
        check_lease(spec, opened.lease_seconds)
        j = opened.journal(name)
        with providers(spec, options) as built:
            on_built()
            controller = _controller(spec, j, built, options)
            signals = _signals_interrupt() if options.handle_signals else contextlib.nullcontext()
            with j.locked(), signals:
                try:
                    return controller.run(resume=resume)
                except LeaseLost as exc:
                    return _after_lease_lost(j, built, options, exc)
                except StateError as exc:
                    state = controller.state
                    if isinstance(exc, Busy) or (
                        opened.lease_seconds is None
                        and (state is None or never_moved_traffic(state))
                    ):
                        raise
                    raise _store_failed(controller, built, options, exc) from None


def _store_failed(
    controller: Controller, built: Built, options: Options, error: StateError
) -> RollbackError:
    """The state store stopped answering (or the state directory stopped being usable) while
    this process drove the rollout. Nothing can be journaled, so this process rolls back
    unjournaled — canary weight 0, kill switches
    off — and leaves the record to `gate reap` once the store answers again (the rollback is
    idempotent). Exit 4 either way: journal and traffic disagree until then."""
    state = controller.state
    moved = state is not None and state.status is not RolloutStatus.STARTING
    done: list[str] = []
    if moved and not options.dry_run:
        try:
            built.router.set_canary_weight(0)
            done.append("canary weight set to 0")
        except ProviderError as exc:
            done.append(f"canary weight NOT set to 0 ({exc})")
        if built.kill_switches is not None:
            still_on = list(built.kill_switches.turn_off())
            done.append(
                f"kill switches still ON: {', '.join(still_on)}"
                if still_on
                else "kill switches off"
            )
    what = "; ".join(done) if done else "no traffic had moved"
    return RollbackError(
        f"{error}. Rolled back without journaling it: {what}; run `gate reap` (or `gate abort "
        f"{controller.spec.name}`) once the state store answers, to record it"
    )


def _after_lease_lost(
    j: RolloutJournal, built: Built, options: Options, lost: LeaseLost
) -> RolloutResult:
    """This process was too slow to renew its lease and another one took the rollout over.
    When that one rolled it back, this one sets the canary weight to 0 once more — a change
    it may have made after the rollback, if it was frozen between its last journal write and
    that change — and reports the rollback; otherwise it stops and says so (exit 4)."""
    state = j.load()
    if state is None or state.status not in (RolloutStatus.ROLLED_BACK, RolloutStatus.ABORTED):
        raise lost
    if not options.dry_run:
        with contextlib.suppress(ProviderError):
            built.router.set_canary_weight(0)
    return RolloutResult(
        state.status, f"this process lost its lease; {j.name} was {state.status} by another"
    )


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
    with store(options) as opened:
        state = opened.journal(rollout_name(name)).load()
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


FINISHED = (RolloutStatus.PROMOTED, RolloutStatus.ROLLED_BACK, RolloutStatus.ABORTED)
# what a driver that stopped may have left with traffic on the canary: rolled back here
LEFT_ON_CANARY = (*ACTIVE, RolloutStatus.ROLLBACK_FAILED, RolloutStatus.INTERRUPTED)


def abort(
    name: str,
    reason: str,
    options: Options,
    *,
    wait_seconds: float = 120.0,
    note: Callable[[str], None] = lambda text: None,
    sleep: Callable[[float], None] = time.sleep,
) -> AbortResult:
    """Roll back a rollout: ask its running process, or do it here when none is left (none
    was, or it died — its lease expired — while we waited)."""
    with store(options) as opened:
        j = opened.journal(rollout_name(name))
        state = j.load()
        if state is None and opened.lease_seconds is not None:
            # a shared store, and no rollout gate drives by that name: a canary driven by
            # Flagger (NAMESPACE.NAME), whose rollback hook on gate serve honours the request
            j.request("abort", reason)
            return AbortResult(
                None,
                f"recorded a rollback request for {name} in {opened.where}: gate serve "
                "answers the Flagger rollback hook of that canary with a rollback",
                0,
            )
        if state is None:
            raise StateError(f"no journaled rollout named {name}; `gate status` lists them")
        holder = live_driver(j)
        if holder is not None:
            j.request("abort", reason)
            note(
                f"asked process {holder.describe()} to roll back {name}; waiting up to "
                f"{wait_seconds:g}s"
            )
            deadline = time.monotonic() + wait_seconds
            while time.monotonic() < deadline and live_driver(j) is not None:
                sleep(0.1)
            final = j.load()
            status = final.status if final else None
            if status in (RolloutStatus.ROLLED_BACK, RolloutStatus.ABORTED):
                return AbortResult(status, f"{name}: {status}", 1)
            if final is None or live_driver(j) is not None or status not in LEFT_ON_CANARY:
                raise StateError(
                    f"{name} is {status or 'unknown'} after {wait_seconds:g}s; check "
                    f"`gate status {name}`"
                )
            note(f"{holder.describe()} stopped without rolling back {name}; rolling back here")
            state = final
        if state.status in FINISHED:
            return AbortResult(
                state.status,
                f"{name} is already {state.status}; nothing to do",
                1 if state.status is not RolloutStatus.PROMOTED else 0,
            )
        with j.locked():
            current = j.load() or state
            if current.status in FINISHED:  # finished by another process meanwhile
                return AbortResult(current.status, f"{name}: {current.status}", 1)
            result = roll_back_held(j, current, reason, options)
    return AbortResult(result.status, f"{name}: {result.status}", result.exit_code)


def roll_back_held(
    j: RolloutJournal, state: RolloutState, reason: str, options: Options
) -> RolloutResult:
    """Roll back a journaled rollout whose journal this process holds: the canary weight to 0,
    kill switches off, rollback hooks — with the providers of the spec it was started with
    (a dry run's with the dry-run router and no kill switches, as it ran)."""
    spec = spec_from_state(state)
    here = Options(
        state_dir=options.state_dir,
        state_url=options.state_url,
        lease_seconds=options.lease_seconds,
        dry_run=state.dry_run,
        sinks=options.sinks,
    )
    with providers(spec, here, notify=True) as built:
        return _controller(spec, j, built, here).abort(reason)


def promote(name: str, options: Options) -> int:
    """Ask a running rollout to leave its paused or manual stage; returns the stage number."""
    with store(options) as opened:
        j = opened.journal(rollout_name(name))
        state = j.load()
        if state is None:
            raise StateError(f"no journaled rollout named {name}; `gate status` lists them")
        if state.status not in (RolloutStatus.PROGRESSING, RolloutStatus.PAUSED):
            raise StateError(f"{name} is {state.status}; only a running rollout can be promoted")
        if live_driver(j) is None:
            raise StateError(
                f"no process is driving {name}; run `gate resume {name}` (or `gate abort {name}`)"
            )
        j.request("promote", "promoted by hand")
        return state.stage + 1


def status(options: Options, name: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Where the store is, and one row per journaled rollout (or only ``name``'s)."""
    with store(options) as opened:
        names = [name] if name is not None else opened.names()
        rows = []
        for each in names:
            j = opened.journal(each)
            try:
                state = j.load()
            except Unreadable as exc:
                if name is not None:
                    raise
                rows.append(damaged(each, redact(str(exc))))  # the others are still listed
                continue
            if state is None:
                raise StateError(f"no journaled rollout named {each} in {opened.where}")
            rows.append(describe(j, state))
        return opened.where, rows


def damaged(name: str, why: str) -> dict[str, Any]:
    """The status row of a rollout whose journal cannot be read."""
    return {
        "name": name,
        "status": "damaged",
        "stage": None,
        "stages": "?",
        "weight": None,
        "target_weight": None,
        "reason": why,
        "pid": None,
        "started_at": None,
        "updated_at": None,
        "note": (
            "its journal cannot be read, so its canary traffic and kill switches are unknown: "
            "a human must check the router and the flags, then move the journal away"
        ),
        "flags_still_on": [],
    }


def describe(j: RolloutJournal, state: RolloutState) -> dict[str, Any]:
    """One rollout's status, and the command that will work next."""
    found = j.driver()
    holder = None if found is None or found.expired else found
    stages = len(state.spec.get("spec", {}).get("stages", [])) or "?"
    name = state.name
    gone = f"pid {state.pid} is gone"
    if found is not None and found.expired:
        gone = f"the lease of {found.describe()} expired {-(found.expires_in or 0):.0f}s ago"
    note = ""
    if holder is None:
        if state.status is RolloutStatus.STARTING:
            note = (
                f"it stopped before any traffic moved: run `gate resume {name}` (it checks "
                f"everything again first) or `gate abort {name}` to record it as aborted"
            )
        elif state.status is RolloutStatus.FAILED_TO_START:
            note = "it never moved traffic: fix the reason and run `gate rollout` again"
        elif state.status is RolloutStatus.ROLLING_BACK or (
            state.target_weight is not None and state.status is not RolloutStatus.ROLLBACK_FAILED
        ):
            note = (
                f"no process is driving it ({gone}) and it stopped during a "
                f"weight change: run `gate abort {name}` to set canary traffic to 0"
            )
        elif state.status in ACTIVE or state.status is RolloutStatus.INTERRUPTED:
            note = (
                f"no process is driving it ({gone}) with canary traffic at "
                f"{'an unknown weight' if state.weight is None else f'{state.weight}%'}: run "
                f"`gate resume {name}` or `gate abort {name}`"
            )
        elif state.status is RolloutStatus.ROLLBACK_FAILED:
            note = f"a human must act (see reason), then run `gate abort {name}` to record it"
    row: dict[str, Any] = {
        "name": j.name,
        "status": state.status.value,
        "stage": state.stage + 1,
        "stages": stages,
        "weight": state.weight,
        "target_weight": state.target_weight,
        "reason": state.reason,
        "pid": holder.pid if holder is not None else None,
        "started_at": state.started_at,
        "updated_at": state.updated_at,
        "note": note,
        "flags_still_on": list(state.flags_still_on),
    }
    if found is not None and found.expires_in is not None:  # a lease (PostgreSQL)
        row["lease"] = {
            "owner": found.owner,
            "host": found.host,
            "pid": found.pid,
            "renewed_seconds_ago": round(found.renewed_ago or 0.0, 3),
            "expires_in_seconds": round(found.expires_in, 3),
            "expired": found.expired,
        }
    return row
