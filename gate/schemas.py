"""The JSON Schemas gate validates files against, completed from the registries.

The schema files under ``gate/config/schemas`` hold the shape of each document; the names of
backends (traffic, metrics, flags, notifications) and of live checks come from their
registries, so a backend is named in one place and the schema, the loader and the command
line cannot disagree.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from gate.config.validate import raw_schema, schema_names
from gate.config.values import NAME_PATTERN, NAME_RULE

__all__ = ["schema", "schema_names"]


def _enums() -> dict[str, dict[tuple[str, ...], list[str]]]:
    from gate.checks.registry import CHECKS
    from gate.providers.flags.registry import PROVIDERS as FLAGS
    from gate.providers.metrics.registry import PROVIDERS as METRICS
    from gate.providers.notify.registry import PROVIDERS as NOTIFIERS
    from gate.providers.traffic.registry import ROUTERS

    flag_enum = list(FLAGS)
    return {
        "rollout": {
            ("properties", "spec", "properties", "traffic", "properties", "provider"): list(
                ROUTERS
            ),
            ("properties", "spec", "properties", "metrics", "properties", "provider"): list(
                METRICS
            ),
            ("$defs", "flag", "properties", "provider"): flag_enum,
            (
                "properties",
                "spec",
                "properties",
                "notifications",
                "items",
                "properties",
                "provider",
            ): list(NOTIFIERS),
        },
        "change-request": {("properties", "flags", "items", "properties", "provider"): flag_enum},
        "live-check": {("properties", "type"): list(CHECKS)},
    }


NAMES: dict[str, dict[tuple[str, ...], str]] = {
    "rollout": {
        ("properties", "metadata", "properties", "name"): "rollout name",
        ("$defs", "metric", "properties", "name"): "metric name",
        ("$defs", "hook", "properties", "name"): "hook name",
    },
    "live-check": {("properties", "name"): "check name"},
}


@cache
def schema(name: str) -> dict[str, Any]:
    """The complete JSON Schema ``name`` (change-request, policy, rollout, live-check)."""
    data = copy.deepcopy(raw_schema(name))
    for path, values in _enums().get(name, {}).items():
        _at(data, path)["enum"] = values
    for path, what in NAMES.get(name, {}).items():  # gate's one rule for names, in one place
        _at(data, path).update(
            type="string",
            pattern=NAME_PATTERN,
            errorMessage=f"{{value}} is not a valid {what} ({NAME_RULE})",
        )
    return data


def _at(data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node = data
    for key in path:
        node = node.setdefault(key, {})
    return node
