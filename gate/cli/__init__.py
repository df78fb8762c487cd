"""The command line: the only package that imports click.

Each command parses its flags, calls the core, hands results to a renderer and returns an
exit code. Errors are mapped to exit codes in one place, :func:`main`.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Sequence
from typing import Any

import click

from gate import __version__
from gate.cli.errors import given_as, run_guarded


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Example:\n\n  gate check --change examples/change-request.yaml --env production",
)
@click.version_option(__version__, "-V", "--version", prog_name="gate")
def cli() -> None:
    """Deployment gate and canary controller.

    \b
    gate check      decide allow / warn / block for a change request, against YAML policies
    gate rollout    drive a staged canary with automatic rollback
    gate serve      the gate, judge and kill switches over HTTP (Argo Rollouts, Flagger)
    """


def _register() -> None:
    # one line per command module; each module's register() adds its commands to the group
    from gate.cli import check, flags, judge, reap, report, rollout, serve

    check.register(cli)
    rollout.register(cli)
    judge.register(cli)
    flags.register(cli)
    serve.register(cli)
    report.register(cli)
    reap.register(cli)
    _whole_short_help(cli)
    _usable_values_only(cli)


def _usable_values_only(group: click.Group) -> None:
    """Values no range or choice refuses, refused by every command before it runs: bytes that
    are not UTF-8 in an option, variable or argument (Python passes them on as lone
    surrogates), which no report can hold; and a number that is not finite (nan passes every
    range check, 1e400 is inf)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _usable_values_only(command)
        elif command.callback is not None:
            command.callback = _refusing_unusable(command, command.callback)


def _problem(item: object) -> str | None:
    if isinstance(item, float) and not math.isfinite(item):
        return f"{item} is not a finite number"
    if isinstance(item, str) and not item.isascii():
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            return f"{item!r} is not UTF-8 text"
    return None


def _refusing_unusable(command: click.Command, callback: Any) -> Any:
    from gate.errors import ConfigError

    @functools.wraps(callback)
    def checked(**params: Any) -> Any:
        ctx = click.get_current_context()
        for param in command.params:
            value = params.get(param.name or "")
            for item in value if isinstance(value, tuple) else (value,):
                problem = _problem(item)
                if problem is not None:
                    raise ConfigError(problem, field=given_as(ctx, param))
        return callback(**params)

    return checked


def _whole_short_help(group: click.Group) -> None:
    """`gate --help` lists each command with its whole first line, wrapped, never cut off."""
    for command in group.commands.values():
        if not command.short_help and command.help:
            command.short_help = command.help.strip().splitlines()[0]
        if isinstance(command, click.Group):
            _whole_short_help(command)


_register()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (see gate.errors for the contract)."""
    args = list(sys.argv[1:] if argv is None else argv)
    return run_guarded(lambda: cli.main(args=args, prog_name="gate", standalone_mode=False))
