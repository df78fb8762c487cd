"""Live checks by type: ``type: NAME`` → the check's settings record and run function.

The registry feeds the live-check schema's enum of check types. Check
modules import their clients (httpx and so on) only when they run.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple

from gate.checks import (
    anomaly,
    command,
    error_budget,
    flags_exist,
    github,
    http_json,
    incidents,
    migrations,
    vulnerabilities,
)
from gate.checks.interface import CheckRun, CheckSettings, CheckSpec, OnError
from gate.config.node import Node
from gate.errors import ConfigError, ConfigErrors
from gate.providers.registry import only_keys


class Check(NamedTuple):
    settings: type[CheckSettings]
    run: CheckRun


CHECKS: dict[str, Check] = {
    "github": Check(github.Settings, github.run),
    "error-budget": Check(error_budget.Settings, error_budget.run),
    "incidents": Check(incidents.Settings, incidents.run),
    "http-json": Check(http_json.Settings, http_json.run),
    "command": Check(command.Settings, command.run),
    "vulnerabilities": Check(vulnerabilities.Settings, vulnerabilities.run),
    "migrations": Check(migrations.Settings, migrations.run),
    "flags-exist": Check(flags_exist.Settings, flags_exist.run),
    "anomaly": Check(anomaly.Settings, anomaly.run),
}
COMMON = ("type", "name", "required", "remediation", "timeout", "onError")


@cache
def live_check_schema() -> dict[str, Any]:
    """The schema of one live check, its types from this registry."""
    from gate.config.validate import completed

    return completed(
        "live-check", {("properties", "type"): CHECKS}, {("properties", "name"): "check name"}
    )


DEFAULT_TIMEOUT = 10.0


def parse_check(node: Node, policy: str = "") -> CheckSpec:
    """One entry of a policy's ``spec.checks`` (already valid against the live-check schema)."""
    kind = node.text("type")
    check = CHECKS[kind]
    settings = check.settings.parse(node)
    return CheckSpec(
        type=kind,
        name=node.name("name", "check name") if node.has("name") else kind,
        settings=settings,
        where=node.where(),
        required=node.flag("required", True),
        remediation=node.text("remediation", ""),
        timeout=node.duration("timeout", DEFAULT_TIMEOUT, minimum=0.1, maximum=3600),
        on_error=OnError(node.get("onError", OnError.FAIL_CLOSED.value)),
        policy=policy,
    )


def parse_checks(nodes: Sequence[Node], policy: str = "") -> tuple[CheckSpec, ...]:
    """Every check of a policy; names must be unique; all problems are reported at once."""
    from gate.config.validate import errors_for

    specs: list[CheckSpec] = []
    errors: list[ConfigError] = []
    names: dict[str, Node] = {}
    for node in nodes:
        found = errors_for(node.doc, live_check_schema(), node.value, node.path)
        if found:
            errors.extend(found)
            continue
        try:
            spec = parse_check(node, policy)
        except ConfigError as exc:
            errors.append(exc)
            continue
        if spec.name in names:
            errors.append(
                node.error(
                    f"two checks are named {spec.name!r} (the first on line "
                    f"{names[spec.name].line})",
                    "name",
                )
            )
        names[spec.name] = node
        specs.append(spec)
    if errors:
        raise ConfigErrors(errors)
    return tuple(specs)


def settings_keys(node: Node, keys: Sequence[str], kind: str) -> None:
    """Refuse keys that belong to another check type."""
    only_keys(node, (*COMMON, *keys), f"a {kind} check")
