"""``gate rollout``, ``gate status``, ``gate resume``, ``gate abort`` and ``gate promote``."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from gate.errors import EXIT_OK, StateError

if TYPE_CHECKING:
    from gate.providers.flags.killswitch import KillSwitches

ROLLOUT_EPILOG = """\b
Examples:
  gate rollout examples/rollout.yaml
  gate rollout rollout.yaml --format json --metrics-port 9464
  gate rollout rollout.yaml --dry-run          # query and judge, move no traffic

\b
Exit codes: 0 promoted, 1 analysis failed or aborted (rolled back cleanly), 2 bad input
(nothing changed), 3 internal error, 4 ROLLBACK FAILED (a human must act),
130 interrupted (rolled back unless --on-interrupt leave)."""


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--state-dir",
        metavar="DIR",
        envvar="GATE_STATE_DIR",
        help="Where rollouts are journaled (default .gate/).",
    )(f)
    return f


def _driving(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--format",
            "-f",
            "fmt",
            type=click.Choice(["text", "json"]),
            default="text",
            show_default=True,
            help="Progress as text or JSON Lines.",
        ),
        click.option(
            "--on-interrupt",
            type=click.Choice(["rollback", "leave"]),
            default="rollback",
            show_default=True,
            help="On SIGINT/SIGTERM: roll back, or leave traffic where it is.",
        ),
        click.option(
            "--metrics-port",
            type=click.IntRange(1, 65535),
            metavar="PORT",
            help="Serve gate's own metrics on this port.",
        ),
        click.option(
            "--metrics-address",
            default="127.0.0.1",
            show_default=True,
            help="Address for --metrics-port.",
        ),
        click.option("--pushgateway", metavar="URL", help="Push gate's own metrics here."),
    ]
    for option in reversed(options):
        f = option(f)
    return _common(f)


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted once; later ones are ignored while we roll back."""
    from gate.rollout.controller import Interrupted

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


def _load_spec(path: str) -> Any:
    from gate.config.loader import load_file
    from gate.rollout.spec import parse_rollout

    return parse_rollout(load_file(path))


def _spec_from_state(state: Any) -> Any:
    from gate.config.loader import Document
    from gate.rollout.spec import parse_rollout

    return parse_rollout(Document(file=state.spec_file or "<journal>", data=state.spec))


def _journal(state_dir: str | None, name: str) -> Any:
    from gate.rollout.journal import Journal
    from gate.rollout.journal import state_dir as resolve

    return Journal(resolve(state_dir), name)


def _kill_switches(spec: Any) -> KillSwitches | None:
    if not spec.flags:
        return None
    from gate.providers.flags.killswitch import KillSwitches

    return KillSwitches(spec.flags)


def _notifier(spec: Any) -> Callable[[Any], None] | None:
    if not spec.notifications:
        return None
    from gate.providers.notify.dispatch import notifier_for

    sink: Callable[[Any], None] = notifier_for(spec)
    return sink


def _mask_secrets(raw: Any) -> None:
    from gate.report.actions import mask_lines, secret_names

    for line in mask_lines(os.environ, secret_names(raw)):
        click.echo(line, err=True)


def _drive(
    spec: Any,
    *,
    state_dir: str | None,
    fmt: str,
    on_interrupt: str,
    dry_run: bool,
    resume: bool,
    metrics_port: int | None,
    metrics_address: str,
    pushgateway: str | None,
) -> int:
    from gate.providers.metrics.registry import build_metrics
    from gate.providers.traffic.registry import build_router
    from gate.report.progress import JsonProgress, TextProgress, Timeline
    from gate.rollout.controller import Controller
    from gate.rollout.events import fan_out

    _mask_secrets(spec.raw)
    name = spec.name + (".dry-run" if dry_run else "")
    journal = _journal(state_dir, name)
    traffic = ("dryrun", {}) if dry_run else (spec.traffic.provider, spec.traffic.settings)
    # pieces that need secrets first: a missing token is bad input before anything opens
    notify = None if dry_run else _notifier(spec)
    kill = None if dry_run else _kill_switches(spec)
    router = build_router(traffic[0], traffic[1], spec.service)
    metrics = build_metrics(spec.metrics_provider.provider, spec.metrics_provider.settings)
    progress = (
        JsonProgress(sys.stdout)
        if fmt == "json"
        else TextProgress(sys.stdout, live=sys.stdout.isatty())
    )
    timeline = Timeline()
    sinks: list[Callable[[Any], None]] = [progress, timeline]
    if notify is not None:
        sinks.append(notify)
    telemetry = None
    if metrics_port is not None or pushgateway:
        from gate.telemetry import Telemetry

        telemetry = Telemetry(
            spec.name, port=metrics_port, address=metrics_address, pushgateway=pushgateway
        )
        sinks.append(telemetry)
    controller = Controller(
        spec=spec,
        router=router,
        metrics=metrics,
        journal=journal,
        emit=fan_out(*sinks),
        kill_switches=kill,
        on_interrupt=on_interrupt,
        dry_run=dry_run,
    )
    try:
        with journal.locked(), _signals_interrupt():
            result = controller.run(resume=resume)
    finally:
        _write_summary(timeline)
        for closable in (router, metrics, telemetry, notify, kill):
            close = getattr(closable, "close", None)
            if close is not None:
                close()
    return result.exit_code


def _write_summary(timeline: Any) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if os.environ.get("GITHUB_ACTIONS") != "true" or not path or not timeline.events:
        return
    try:
        with Path(path).open("a", encoding="utf-8") as fh:
            fh.write(timeline.markdown())
    except OSError as exc:
        click.echo(f"::warning title=gate::cannot write the step summary: {exc.strerror}")


@click.command(epilog=ROLLOUT_EPILOG)
@click.argument("spec_file", metavar="SPEC")
@click.option("--dry-run", is_flag=True, help="Query and judge, but move no traffic.")
@_driving
def rollout(
    spec_file: str,
    dry_run: bool,
    state_dir: str | None,
    fmt: str,
    on_interrupt: str,
    metrics_port: int | None,
    metrics_address: str,
    pushgateway: str | None,
) -> int:
    """Drive a staged canary: shift traffic, analyse, promote or roll back."""
    spec = _load_spec(spec_file)
    return _drive(
        spec,
        state_dir=state_dir,
        fmt=fmt,
        on_interrupt=on_interrupt,
        dry_run=dry_run,
        resume=False,
        metrics_port=metrics_port,
        metrics_address=metrics_address,
        pushgateway=pushgateway,
    )


@click.command(epilog="\b\nExample:\n  gate resume checkout")
@click.argument("name")
@_driving
def resume(
    name: str,
    state_dir: str | None,
    fmt: str,
    on_interrupt: str,
    metrics_port: int | None,
    metrics_address: str,
    pushgateway: str | None,
) -> int:
    """Continue a journaled rollout from its stage (after its process died)."""
    state = _journal(state_dir, name).load()
    if state is None:
        raise StateError(f"no journaled rollout named {name}; `gate status` lists them")
    spec = _spec_from_state(state)
    return _drive(
        spec,
        state_dir=state_dir,
        fmt=fmt,
        on_interrupt=on_interrupt,
        dry_run=False,
        resume=True,
        metrics_port=metrics_port,
        metrics_address=metrics_address,
        pushgateway=pushgateway,
    )


@click.command(
    epilog="\b\nExamples:\n  gate abort checkout\n  gate abort checkout --reason "
    "'INC-12: checkout latency'"
)
@click.argument("name")
@click.option("--reason", default="aborted by hand", show_default=True)
@click.option(
    "--wait",
    "wait_seconds",
    type=float,
    default=120.0,
    show_default=True,
    help="How long to wait for a running process to roll back.",
)
@_common
def abort(name: str, reason: str, wait_seconds: float, state_dir: str | None) -> int:
    """Roll back a rollout: tells its running process, or does it itself if none is left."""
    from gate.providers.metrics.registry import build_metrics
    from gate.providers.traffic.registry import build_router
    from gate.report.progress import TextProgress
    from gate.rollout.controller import Controller

    journal = _journal(state_dir, name)
    state = journal.load()
    if state is None:
        raise StateError(f"no journaled rollout named {name}; `gate status` lists them")
    holder = journal.holder()
    if holder is not None:
        journal.request("abort", reason)
        click.echo(f"asked process {holder} to roll back {name}; waiting up to {wait_seconds:g}s")
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline and journal.holder() is not None:
            time.sleep(0.2)
        final = journal.load()
        status = final.status if final else "unknown"
        click.echo(f"{name}: {status}")
        if status in ("rolled-back", "aborted"):
            return EXIT_OK
        raise StateError(f"{name} is {status} after {wait_seconds:g}s; check `gate status {name}`")
    spec = _spec_from_state(state)
    router = build_router(spec.traffic.provider, spec.traffic.settings, spec.service)
    metrics = build_metrics(spec.metrics_provider.provider, spec.metrics_provider.settings)
    controller = Controller(
        spec=spec,
        router=router,
        metrics=metrics,
        journal=journal,
        emit=TextProgress(sys.stdout),
        kill_switches=_kill_switches(spec),
    )
    try:
        with journal.locked():
            controller.abort(reason)
    finally:
        router.close()
        metrics.close()
    return EXIT_OK


@click.command(epilog="\b\nExample:\n  gate promote checkout")
@click.argument("name")
@_common
def promote(name: str, state_dir: str | None) -> int:
    """Release a paused or manual stage of a running rollout."""
    journal = _journal(state_dir, name)
    state = journal.load()
    if state is None:
        raise StateError(f"no journaled rollout named {name}; `gate status` lists them")
    if state.status not in ("progressing", "paused"):
        raise StateError(f"{name} is {state.status}; only a running rollout can be promoted")
    journal.request("promote", "promoted by hand")
    click.echo(f"asked {name} to go on from stage {state.stage + 1}")
    return EXIT_OK


def _describe(journal: Any, state: Any) -> dict[str, Any]:
    from gate.rollout.journal import ACTIVE

    holder = journal.holder()
    stages = len(state.spec.get("spec", {}).get("stages", [])) or "?"
    note = ""
    if state.status in (*ACTIVE, "interrupted") and holder is None:
        note = (
            f"no process is driving it (pid {state.pid} is gone): run `gate resume "
            f"{state.name}` or `gate abort {state.name}`"
        )
    return {
        "name": journal.name,
        "status": state.status,
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


@click.command(epilog="\b\nExamples:\n  gate status\n  gate status checkout --format json")
@click.argument("name", required=False)
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text")
@_common
def status(name: str | None, fmt: str, state_dir: str | None) -> int:
    """Show journaled rollouts: stage, weight, status, and what to do next."""
    from gate.rollout.journal import Journal, all_rollouts
    from gate.rollout.journal import state_dir as resolve

    root = resolve(state_dir)
    names = [name] if name else all_rollouts(root)
    rows = []
    for n in names:
        journal = Journal(root, n)
        state = journal.load()
        if state is None:
            raise StateError(f"no journaled rollout named {n} in {root}")
        rows.append(_describe(journal, state))
    if fmt == "json":
        click.echo(json.dumps(rows if not name else rows[0], indent=2))
        return EXIT_OK
    if not rows:
        click.echo(f"no rollouts journaled in {root}")
    for r in rows:
        target = f" (moving to {r['target_weight']}%)" if r["target_weight"] is not None else ""
        driver = f"pid {r['pid']}" if r["pid"] else "no process"
        click.echo(
            f"{r['name']}  {r['status']}  stage {r['stage']}/{r['stages']}  canary "
            f"{r['weight']}%{target}  {driver}  updated {r['updated_at']}"
        )
        if r["reason"]:
            click.echo(f"  reason: {r['reason']}")
        if r["note"]:
            click.echo(f"  {r['note']}")
    return EXIT_OK


def register(cli: click.Group) -> None:
    for command in (rollout, status, resume, abort, promote):
        cli.add_command(command)
