"""``gate rollout``, ``gate status``, ``gate resume``, ``gate abort`` and ``gate promote``:
options → :mod:`gate.rollout.runtime` → exit code."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from gate.cli.urls import pushgateway_url
from gate.errors import EXIT_OK

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
        "--state-url",
        metavar="URL",
        envvar="GATE_STATE_URL",
        help="Journal rollouts in PostgreSQL (postgresql://USER@HOST/DB), shared by every "
        "runner; a password only through GATE_STATE_URL, PGPASSWORD or ~/.pgpass.",
    )(f)
    return click.option(
        "--state-dir",
        metavar="DIR",
        envvar="GATE_STATE_DIR",
        help="Where rollouts are journaled (default .gate/).",
    )(f)


def _lease(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--lease-seconds",
        type=click.FloatRange(2, 86400),
        default=90.0,
        show_default=True,
        envvar="GATE_LEASE_SECONDS",
        help="With --state-url: how long the driver's lease lasts unless renewed; `gate reap` "
        "rolls back a rollout whose lease expired.",
    )(f)


def options(
    state_dir: str | None, state_url: str | None, lease_seconds: float = 90.0, **kw: Any
) -> Any:
    """The runtime's options from the state flags (a URL given on the command line must not
    carry a password)."""
    from click.core import ParameterSource

    from gate.rollout import runtime

    source = click.get_current_context().get_parameter_source("state_url")
    return runtime.Options(
        state_dir=state_dir,
        state_url=state_url or None,
        state_url_on_command_line=source is ParameterSource.COMMANDLINE,
        lease_seconds=lease_seconds,
        **kw,
    )


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
        click.option(
            "--pushgateway",
            metavar="URL",
            callback=pushgateway_url,
            help="Push gate's own metrics here (host:port or an http(s) URL).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return _common(_lease(f))


@contextlib.contextmanager
def _reporting(
    name: str,
    fmt: str,
    metrics_port: int | None,
    metrics_address: str,
    pushgateway: str | None,
    interval: float = 0.0,
) -> Iterator[list[Any]]:
    """The event sinks of a driven rollout: progress on stdout, gate's own metrics, and the
    GitHub step summary written when it ends."""
    from gate.report.progress import JsonProgress, TextProgress, Timeline

    progress = (
        JsonProgress(sys.stdout)
        if fmt == "json"
        else TextProgress(sys.stdout, live=sys.stdout.isatty())
    )
    timeline = Timeline()
    sinks: list[Any] = [progress, timeline]
    with contextlib.ExitStack() as stack:
        if metrics_port is not None or pushgateway:
            from gate.telemetry import Telemetry

            telemetry = Telemetry(
                name,
                port=metrics_port,
                address=metrics_address,
                pushgateway=pushgateway,
                interval=interval,
            )
            stack.callback(telemetry.close)
            sinks.append(telemetry)
        stack.callback(_write_summary, timeline)
        yield sinks


def _write_summary(timeline: Any) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if os.environ.get("GITHUB_ACTIONS") != "true" or not path or not timeline.events:
        return
    try:
        with Path(path).open("a", encoding="utf-8") as fh:
            fh.write(timeline.markdown())
    except OSError as exc:
        click.echo(f"gate: warning: cannot write the step summary: {exc.strerror}", err=True)


def _mask_secrets() -> None:
    """Under GitHub Actions, hide every secret read so far from the job's log."""
    from gate.report.actions import mask_lines

    for line in mask_lines(os.environ):
        click.echo(line, err=True)  # workflow commands go to stderr: see gate.report.actions


@click.command(epilog=ROLLOUT_EPILOG)
@click.argument("spec_file", metavar="SPEC")
@click.option("--dry-run", is_flag=True, help="Query and judge, but move no traffic.")
@_driving
def rollout(
    spec_file: str,
    dry_run: bool,
    state_dir: str | None,
    state_url: str | None,
    lease_seconds: float,
    fmt: str,
    on_interrupt: str,
    metrics_port: int | None,
    metrics_address: str,
    pushgateway: str | None,
) -> int:
    """Drive a staged canary: shift traffic, analyse, promote or roll back."""
    from gate.rollout import runtime

    spec = runtime.load_spec(spec_file)
    with _reporting(
        spec.name, fmt, metrics_port, metrics_address, pushgateway, spec.analysis.interval
    ) as sinks:
        chosen = options(
            state_dir,
            state_url,
            lease_seconds,
            dry_run=dry_run,
            on_interrupt=on_interrupt,
            sinks=sinks,
        )
        return runtime.start(spec, chosen, on_built=_mask_secrets).exit_code


@click.command(epilog="\b\nExample:\n  gate resume checkout")
@click.argument("name")
@_driving
def resume(
    name: str,
    state_dir: str | None,
    state_url: str | None,
    lease_seconds: float,
    fmt: str,
    on_interrupt: str,
    metrics_port: int | None,
    metrics_address: str,
    pushgateway: str | None,
) -> int:
    """Continue a journaled rollout from its stage (after its process died)."""
    from gate.rollout import runtime

    runtime.rollout_name(name)
    with _reporting(name, fmt, metrics_port, metrics_address, pushgateway) as sinks:
        chosen = options(
            state_dir, state_url, lease_seconds, on_interrupt=on_interrupt, sinks=sinks
        )
        return runtime.resume(name, chosen, on_built=_mask_secrets).exit_code


@click.command(
    epilog="\b\nExamples:\n  gate abort checkout\n  gate abort checkout --reason "
    "'INC-12: checkout latency'\n\b\nExit codes: 1 rolled back or aborted (nothing left on the "
    "canary), 2 bad input or no such rollout, 4 ROLLBACK FAILED (a human must act)."
)
@click.argument("name")
@click.option("--reason", default="aborted by hand", show_default=True)
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(0, 3600),
    default=120.0,
    show_default=True,
    help="How long to wait for a running process to roll back.",
)
@_common
@_lease
def abort(
    name: str,
    reason: str,
    wait_seconds: float,
    state_dir: str | None,
    state_url: str | None,
    lease_seconds: float,
) -> int:
    """Roll back a rollout: tells its running process, or does it itself if none is left."""
    from gate.report.progress import TextProgress
    from gate.rollout import runtime

    chosen = options(state_dir, state_url, lease_seconds, sinks=[TextProgress(sys.stdout)])
    result = runtime.abort(name, reason, chosen, wait_seconds=wait_seconds, note=click.echo)
    click.echo(result.message)
    return result.exit_code


@click.command(epilog="\b\nExample:\n  gate promote checkout")
@click.argument("name")
@_common
def promote(name: str, state_dir: str | None, state_url: str | None) -> int:
    """Release a paused or manual stage of a running rollout."""
    from gate.rollout import runtime

    stage = runtime.promote(name, options(state_dir, state_url))
    click.echo(f"asked {name} to go on from stage {stage}")
    return EXIT_OK


@click.command(epilog="\b\nExamples:\n  gate status\n  gate status checkout --format json")
@click.argument("name", required=False)
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text")
@_common
def status(name: str | None, fmt: str, state_dir: str | None, state_url: str | None) -> int:
    """Show journaled rollouts: stage, weight, status, who drives them, and what to do next."""
    from gate.rollout import runtime

    if name is not None and not name.endswith(runtime.DRY_RUN_SUFFIX):
        runtime.rollout_name(name)
    where, rows = runtime.status(options(state_dir, state_url), name)
    if fmt == "json":
        click.echo(json.dumps(rows if not name else rows[0], indent=2))
        return EXIT_OK
    if not rows:
        click.echo(f"no rollouts journaled in {where}")
    for r in rows:
        if r["status"] == "damaged":
            click.echo(f"{r['name']}  DAMAGED  {r['reason']}\n  {r['note']}")
            continue
        target = f" (moving to {r['target_weight']}%)" if r["target_weight"] is not None else ""
        weight = "unknown" if r["weight"] is None else f"{r['weight']}%"
        click.echo(
            f"{r['name']}  {r['status']}  stage {r['stage']}/{r['stages']}  canary "
            f"{weight}{target}  {_driver(r)}  updated {r['updated_at']}"
        )
        if r["reason"]:
            click.echo(f"  reason: {r['reason']}")
        if r["note"]:
            click.echo(f"  {r['note']}")
    return EXIT_OK


def _driver(row: dict[str, Any]) -> str:
    lease = row.get("lease")
    if lease is None:
        return f"pid {row['pid']}" if row["pid"] else "no process"
    who = f"pid {lease['pid']} on {lease['host']}"
    if lease["expired"]:
        return f"no process (lease of {who} expired {-lease['expires_in_seconds']:.0f}s ago)"
    return f"{who} (lease renewed {lease['renewed_seconds_ago']:.0f}s ago)"


def register(cli: click.Group) -> None:
    for command in (rollout, status, resume, abort, promote):
        cli.add_command(command)
