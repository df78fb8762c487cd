"""``gate check``, ``gate validate`` and ``gate schema``."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from gate.errors import EXIT_BLOCK, EXIT_OK, ConfigError, ConfigErrors
from gate.report import FORMATS


def _now(value: str | None) -> datetime | None:
    if value is None:
        return None
    from gate.config.values import parse_datetime

    try:
        return parse_datetime(value)
    except ValueError as exc:
        raise ConfigError(str(exc), field="--now") from None


def _wants_color(fmt: str, output: str | None) -> bool:
    if fmt != "text" or output or "NO_COLOR" in os.environ:
        return False
    return sys.stdout.isatty()


@click.command(
    epilog="""\b
Examples:
  gate check --change examples/change-request.yaml
  gate check --change change.yaml --policy policies/ --env production --format json
  gate check --change change.yaml --fail-on warn --format sarif --output gate.sarif
  gate check --change change.yaml --override "INC-4411: checkout down, hotfix approved by CTO"

\b
Exit codes: 0 allowed (warnings allowed unless --fail-on warn), 1 blocked,
2 bad input, 3 internal error, 130 interrupted."""
)
@click.option(
    "--change",
    "-c",
    "change_file",
    envvar="GATE_CHANGE",
    required=True,
    metavar="FILE",
    help="Change request, YAML or JSON.",
)
@click.option(
    "--policy",
    "-p",
    "policies",
    envvar="GATE_POLICY",
    multiple=True,
    metavar="PATH",
    help="Policy file or directory; repeatable. Adds to the bundled default.",
)
@click.option("--no-default-policy", is_flag=True, help="Do not apply the bundled default policy.")
@click.option(
    "--env",
    "-e",
    "environment",
    envvar="GATE_ENV",
    default="",
    help="Target environment; picks the policies and rules scoped to it (default: the "
    "change request's environment, which it must match).",
)
@click.option(
    "--format",
    "-f",
    "fmt",
    envvar="GATE_FORMAT",
    default="text",
    show_default=True,
    type=click.Choice(list(FORMATS)),
    help="Output format.",
)
@click.option(
    "--output",
    "-o",
    envvar="GATE_OUTPUT",
    metavar="FILE",
    help="Write the report to FILE instead of stdout.",
)
@click.option(
    "--fail-on",
    envvar="GATE_FAIL_ON",
    default="block",
    show_default=True,
    type=click.Choice(["warn", "block"]),
    help="Exit 1 on this decision or worse.",
)
@click.option(
    "--override",
    metavar="REASON",
    help="Skip the rules policies mark bypassable, recording REASON in every output.",
)
@click.option(
    "--now",
    "now_text",
    metavar="ISO",
    help="Evaluate as if it were this time (default: the current time).",
)
def check(
    change_file: str,
    policies: tuple[str, ...],
    no_default_policy: bool,
    environment: str,
    fmt: str,
    output: str | None,
    fail_on: str,
    override: str | None,
    now_text: str | None,
) -> int:
    """Decide allow / warn / block for a change request against policies."""
    from gate.change import parse_change
    from gate.config.loader import load_file
    from gate.policy.engine import evaluate
    from gate.policy.load import load_policies
    from gate.policy.result import Decision
    from gate.report import RenderOptions, render
    from gate.report.locations import repository_root

    if override is not None and not override.strip():
        raise ConfigError("needs a reason, e.g. --override 'INC-123: hotfix'", field="--override")
    now = _now(now_text)
    change = parse_change(load_file(change_file))
    loaded = load_policies(list(policies), include_default=not no_default_policy)
    if not loaded:
        raise ConfigError("no policy to apply: give --policy or drop --no-default-policy")
    runner = _live_checks_runner(loaded)
    if runner is not None and os.environ.get("GITHUB_ACTIONS") == "true":
        from gate.report.actions import mask_lines
        from gate.secrets import SecretRef, refs_in, remember_set

        well_known = [SecretRef("GITHUB_TOKEN"), SecretRef("PAGERDUTY_TOKEN")]
        remember_set([*well_known, *refs_in([p.checks for p in loaded])])
        for line in mask_lines(os.environ):
            click.echo(line, err=True)  # workflow commands go to stderr: see gate.report.actions
    evaluation = evaluate(
        change,
        loaded,
        environment=environment,
        now=now,
        override=override,
        live_checks_runner=runner,
    )
    cwd = Path.cwd()
    options = RenderOptions(
        color=_wants_color(fmt, output),
        fail_on=Decision(fail_on),
        root=repository_root(os.environ, cwd),
        cwd=cwd,
    )
    text = render(evaluation, fmt, options)
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write: {exc.strerror or exc}", file=output) from None
    else:
        click.echo(text, nl=False)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        from gate.report.actions import publish

        annotated = fmt == "github" and not output  # the report is the annotations
        for line in publish(evaluation, os.environ, options=options, annotations=not annotated):
            click.echo(line, err=True)
    return EXIT_BLOCK if options.fails(evaluation.decision) else EXIT_OK


def _live_checks_runner(policies: list[Any]) -> Any:
    if not any(p.checks for p in policies):
        return None
    from gate.checks.runner import run_checks

    return run_checks


def _kind(data: Any) -> str:
    """What a document is: a Policy or a Rollout by its ``kind``; a change request has none
    (or ``kind: ChangeRequest``), and is read exactly as ``gate check --change`` reads it."""
    import difflib

    kinds = {"Policy": "policy", "Rollout": "rollout"}
    if not isinstance(data, dict):
        return "change-request"
    kind = data.get("kind")
    if kind == "ChangeRequest":
        return "change-request"
    # a misspelt kind is read as the kind it is closest to, so the message is the one the run
    # that would use the file gives
    close = difflib.get_close_matches(str(kind), list(kinds), n=1, cutoff=0.5)
    if kind is not None and close:
        return kinds[close[0]]
    # a kind left out or unknown: a document shaped as a Policy or a Rollout (apiVersion,
    # metadata, spec) is read as the one its spec looks like, so that the one line the run
    # gives about its kind is what gate validate says, not every change-request field
    if not {"apiVersion", "spec"} & data.keys() or {"id", "title"} & data.keys():
        return "change-request"
    spec = data.get("spec")
    rollout = isinstance(spec, dict) and bool({"stages", "traffic", "analysis"} & spec.keys())
    return "rollout" if rollout else "policy"


def validate_one(path: str) -> str:
    """Validate one file; return its kind or raise ConfigError."""
    from gate.config.loader import load_file

    doc = load_file(path)
    kind = _kind(doc.data)
    if kind == "policy":
        from gate.policy.load import parse_policy

        parse_policy(doc)
    elif kind == "change-request":
        from gate.change import parse_change

        parse_change(doc)
    elif kind == "rollout":
        from gate.rollout.spec import parse_rollout

        parse_rollout(doc)
    return kind


@click.command(epilog="\b\nExample:\n  gate validate examples/*.yaml policies/default.yaml")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def validate(files: tuple[str, ...]) -> int:
    """Check change requests, policies and rollout specs without deciding anything."""
    errors: list[ConfigError] = []
    for path in files:
        try:
            kind = validate_one(path)
        except ConfigErrors as exc:
            errors.extend(exc.errors)
        except ConfigError as exc:
            errors.append(exc)
        else:
            click.echo(f"{path}: ok ({kind})")
    if errors:
        raise ConfigErrors(errors)
    return EXIT_OK


@click.command(epilog="\b\nExample:\n  gate schema change-request > change-request.schema.json")
@click.argument("name")
def schema(name: str) -> int:
    """Print a JSON Schema for editors: change-request, policy, rollout or live-check."""
    from gate.schemas import schema as load_schema
    from gate.schemas import schema_names

    names = schema_names()
    if name not in names:
        raise ConfigError(f"unknown schema {name!r}; one of: {', '.join(names)}", field="NAME")
    click.echo(json.dumps(load_schema(name), indent=2))
    return EXIT_OK


def register(cli: click.Group) -> None:
    cli.add_command(check)
    cli.add_command(validate)
    cli.add_command(schema)
