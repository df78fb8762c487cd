"""The complete JSON Schemas of every document gate reads, for ``gate schema`` and editors.

Each layer completes the schema of the documents it reads from its own registries (see
:func:`gate.config.validate.completed`); this module only gathers them by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gate.config.validate import raw_schema, schema_names

__all__ = ["schema", "schema_names"]


def _builders() -> dict[str, Callable[[], dict[str, Any]]]:
    from gate.change import change_schema
    from gate.checks.registry import live_check_schema
    from gate.rollout.spec import rollout_schema

    return {
        "change-request": change_schema,
        "live-check": live_check_schema,
        "rollout": rollout_schema,
        "policy": lambda: raw_schema("policy"),
    }


def schema(name: str) -> dict[str, Any]:
    """The complete JSON Schema ``name`` (change-request, policy, rollout, live-check)."""
    return _builders()[name]()
