"""``gate reap``: roll back every rollout whose driver is gone (run it on a schedule)."""

from __future__ import annotations

import json
import sys

import click

from gate.cli.rollout import _common, _lease, options
from gate.errors import EXIT_HUMAN_NEEDED, EXIT_OK

REAP_EPILOG = """\b
Examples:
  GATE_STATE_URL=postgresql://gate@db.internal/gate gate reap
  gate reap --format json

\b
Exit codes: 0 nothing to reap, or every rollout reaped rolled back cleanly; 2 bad input
(no such store, a URL with a password on the command line); 4 a rollback FAILED (named on
stderr): traffic or flags may be wrong, a human must act."""


@click.command(epilog=REAP_EPILOG)
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per reaped rollout, or a JSON list.",
)
@_common
@_lease
def reap(fmt: str, state_dir: str | None, state_url: str | None, lease_seconds: float) -> int:
    """Roll back every active rollout whose driver is gone (lease expired, or no process holds
    its lock): canary weight 0, kill switches off, rollback hooks — each exactly once, however
    many reapers run."""
    from gate.report.progress import TextProgress
    from gate.rollout.reaper import reap as reap_all

    sinks = [TextProgress(sys.stderr)] if fmt == "text" else []
    chosen = options(state_dir, state_url, lease_seconds, sinks=sinks)
    results = reap_all(chosen)
    failed = [r for r in results if not r.ok]
    if fmt == "json":
        rows = [{"name": r.name, "outcome": r.outcome, "message": r.message} for r in results]
        click.echo(json.dumps(rows, indent=2))
    else:
        if not results:
            click.echo("nothing to reap")
        for r in results:
            click.echo(f"{r.name}: {r.outcome}")
    for r in failed:
        click.echo(f"gate: error: REAP FAILED for {r.name}: {r.message}", err=True)
    return EXIT_HUMAN_NEEDED if failed else EXIT_OK


def register(cli: click.Group) -> None:
    cli.add_command(reap)
