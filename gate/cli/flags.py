"""``gate flags off|on|status``: kill a feature by hand, without a redeploy."""

from __future__ import annotations

from typing import Any

import click

from gate.errors import EXIT_HUMAN_NEEDED, EXIT_OK, ConfigError


def _configs(
    file: str | None,
    provider: str | None,
    url: str | None,
    path: str | None,
    project: str,
    feature: str | None,
    environment: str,
    token_env: str | None,
) -> list[Any]:
    """The flags named by ``--file`` (a list, or a rollout spec's spec.onFailure.flags) or by
    the options, each read by its provider's settings record."""
    from gate.config.loader import Document, load_file
    from gate.config.node import Node
    from gate.config.validate import validate
    from gate.providers.flags.registry import PROVIDERS
    from gate.providers.registry import parse_block
    from gate.rollout.spec import rollout_schema

    if file:
        doc = load_file(file)
        data = doc.data
        base: tuple[str, ...] = ()
        if isinstance(data, dict) and isinstance(data.get("spec"), dict):
            base = ("spec", "onFailure", "flags")
            data = data["spec"].get("onFailure", {}).get("flags")
        elif isinstance(data, dict):
            base = ("flags",)
            data = data.get("flags")
        if not isinstance(data, list) or not data:
            raise doc.error(
                (), "expected a list of flags (or a rollout spec with spec.onFailure.flags)"
            )
        defs = rollout_schema()["$defs"]
        flag_schema = {**defs["flag"], "$defs": defs}
        for i, item in enumerate(data):
            validate(doc, flag_schema, item, (*base, i))
        return [parse_block(PROVIDERS, Node(doc, (*base, i)), "flag") for i in range(len(data))]
    if not provider or not feature:
        raise ConfigError("give --file, or --provider and --feature", field="--provider")
    config: dict[str, Any] = {
        "provider": provider,
        "feature": feature,
        "project": project,
        "environment": environment,
    }
    for key, value in (("url", url), ("path", path), ("tokenEnv", token_env)):
        if value:
            config[key] = value
    doc = Document(file="command line", data={"flags": [config]})
    return [parse_block(PROVIDERS, Node(doc, ("flags", 0)), "flag")]


def _provider_names() -> list[str]:
    from gate.providers.flags.registry import PROVIDERS

    return list(PROVIDERS)


def _options(f: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--file",
                "file",
                metavar="FILE",
                help="YAML list of flags, or a rollout spec (its spec.onFailure.flags).",
            ),
            click.option("--provider", type=click.Choice(_provider_names())),
            click.option("--url", help="Provider URL (unleash, webhook, launchdarkly)."),
            click.option("--path", help="Flag file (flagd)."),
            click.option("--project", default="default", show_default=True),
            click.option("--feature", help="Flag key."),
            click.option("--environment", default="production", show_default=True),
            click.option(
                "--token-env",
                metavar="VAR",
                help="Name of the environment variable holding the API token.",
            ),
        ]
    ):
        f = option(f)
    return f


def _build(**kw: Any) -> Any:
    import os

    from gate.providers.flags.killswitch import build_flags
    from gate.report.actions import mask_lines

    flags = build_flags(_configs(**kw))
    for line in mask_lines(os.environ):
        click.echo(line, err=True)
    return flags


def _switch(enabled: bool, **kw: Any) -> int:
    from gate.providers.flags.killswitch import switch

    flags = _build(**kw)
    try:
        report = switch(flags, enabled)
    finally:
        for _, provider in flags:
            provider.close()
    word = "on" if enabled else "off"
    for o in report.outcomes:
        click.echo(
            f"{o.flag}: {word if o.ok else 'FAILED'}" + (f" ({o.detail})" if o.detail else "")
        )
    if report.failed:
        click.echo(
            f"gate: error: {len(report.failed)} flag(s) are NOT {word}: "
            + "; ".join(report.still_wrong()),
            err=True,
        )
        return EXIT_HUMAN_NEEDED
    return EXIT_OK


@click.group(
    epilog="""\b
Examples:
  UNLEASH_TOKEN=… gate flags off --provider unleash --url https://unleash.internal \\
      --feature new-checkout --environment production --token-env UNLEASH_TOKEN
  gate flags status --file examples/rollout-command.yaml"""
)
def flags() -> None:
    """Turn feature flags off (kill switch) or on, or show them, by hand."""


@flags.command(
    epilog="""\b
Example:
  gate flags off --file examples/rollout-command.yaml      # its spec.onFailure.flags
\b
Exit codes: 0 all off, 2 bad input, 4 some flags are still on."""
)
@_options
def off(**kw: Any) -> int:
    """Turn flags off, verified by reading them back."""
    return _switch(False, **kw)


@flags.command(
    epilog="""\b
Example:
  gate flags on --provider flagd --path flags.json --feature new-checkout
\b
Exit codes: 0 all on, 2 bad input, 4 some flags are not on."""
)
@_options
def on(**kw: Any) -> int:
    """Turn flags on again, verified by reading them back."""
    return _switch(True, **kw)


@flags.command(
    epilog="""\b
Example:
  gate flags status --file examples/rollout-command.yaml
\b
Exit codes: 0 read every flag, 4 some could not be read."""
)
@_options
def status(**kw: Any) -> int:
    """Show whether each flag is on."""
    from gate.errors import GateError

    problems = 0
    for ref, provider in _build(**kw):
        try:
            click.echo(f"{ref}: {'on' if provider.is_enabled(ref) else 'off'}")
        except GateError as exc:
            problems += 1
            click.echo(f"{ref}: UNKNOWN ({exc})")
        finally:
            provider.close()
    return EXIT_HUMAN_NEEDED if problems else EXIT_OK


def register(cli: click.Group) -> None:
    cli.add_command(flags)
