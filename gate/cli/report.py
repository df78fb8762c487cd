"""``gate report``: the delivery report over journaled rollouts, or one rollout's timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gate.cli.rollout import _common, options
from gate.errors import EXIT_OK, ConfigError, StateError

if TYPE_CHECKING:
    from gate.rollout.journal import StateStore

EPILOG = """\b
Examples:
  gate report                                  # the last 30 days, every service
  gate report --since 7d --service checkout --format json
  gate report --format markdown --output report.md
  gate report --rollout checkout --format svg --output checkout.svg
  GATE_STATE_URL=postgresql://gate@db.internal/gate gate report --since 7d

\b
Targets: time to detect < 1 min and time to restore < 5 min (90th percentile), rollback
rate < 2 %. A rollout whose journal cannot be read is left out and named (stderr, and
"unreadable" in JSON). Exit codes: 0 report written, 2 bad input (a bad --since, an unknown
rollout, a store that cannot be opened)."""


def parse_since(text: str) -> timedelta:
    """``30d`` → 30 days (any duration gate reads: ``12h``, ``2w``, ``1w3d``)."""
    from gate.config.values import parse_duration

    try:
        return timedelta(seconds=parse_duration(text, minimum=60))
    except ValueError as exc:
        raise ConfigError(str(exc), field="--since") from None


def _write(text: str, output: str | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc.strerror}", field="--output") from None


def _timeline(store: StateStore, name: str, fmt: str, output: str | None) -> int:
    from gate.delivery.timeline import from_records, mermaid

    journal = store.journal(name)  # every store refuses a name outside gate's one rule
    state = journal.load()
    if state is None:
        raise StateError(
            f"no journaled rollout named {name} in {store.where}; `gate status` lists them"
        )
    try:
        timeline = from_records(name, journal.events(), state.status)
    except ValueError as exc:
        raise StateError(str(exc)) from None
    if fmt == "svg":
        from gate.delivery.svg import render

        _write(render(timeline), output)
    elif fmt == "markdown":
        _write(f"## gate rollout `{name}`: {timeline.status}\n\n{mermaid(timeline)}", output)
    else:
        raise ConfigError("one rollout's timeline is drawn as svg or markdown", field="--format")
    return EXIT_OK


@click.command(epilog=EPILOG)
@_common
@click.option("--since", "since", default="30d", show_default=True, metavar="PERIOD",
              help="Rollouts started in this period before now: 30d, 12h, 2w, 1w3d.")  # fmt: skip
@click.option("--service", metavar="S", help="Only this service's rollouts.")
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "svg"]),
    default="text",
    show_default=True,
    help="svg (and markdown) with --rollout draw one rollout's timeline.",
)
@click.option("--rollout", metavar="NAME", help="Draw this rollout's timeline instead.")
@click.option("--output", "-o", metavar="FILE", help="Write here instead of standard output.")
def report(
    state_dir: str | None,
    state_url: str | None,
    since: str,
    service: str | None,
    fmt: str,
    rollout: str | None,
    output: str | None,
) -> int:
    """Delivery report: rollbacks, time to detect and to restore, beside their targets."""
    from gate.rollout.runtime import store

    if rollout is None and fmt == "svg":
        raise ConfigError("svg draws one rollout's timeline: add --rollout NAME", field="--format")
    period = parse_since(since)
    with store(options(state_dir, state_url)) as opened:
        if rollout is not None:
            return _timeline(opened, rollout, fmt, output)
        from gate.delivery import render, rollouts
        from gate.delivery import report as compute

        loaded = rollouts.load(opened)
    for name, why in loaded.unreadable:
        click.echo(f"gate: warning: {name} is left out of the report: {why}", err=True)
    result = compute.build(
        loaded.rollouts,
        now=datetime.now(UTC),
        period=period,
        service=service,
        unreadable=loaded.unreadable,
    )
    text = {"json": render.to_json, "markdown": render.to_markdown}.get(fmt, render.to_text)(result)
    _write(text, output)
    return EXIT_OK


def register(cli: click.Group) -> None:
    cli.add_command(report)
