"""Which feature flags ``gate serve`` turns off when a canary fails (``--kill-switches FILE``).

The flags and their providers are the server's configuration, never the request's: a caller
that could name a flag provider's URL and token variable could make the server send that
token anywhere. The file maps a canary, ``namespace/name`` as Flagger names it, to flags in
the shape of a rollout spec's ``onFailure.flags``::

    canaries:
      test/podinfo:
        - {provider: unleash, url: http://unleash.flags:4242, feature: new-checkout,
           tokenEnv: UNLEASH_TOKEN}

Tokens come from the environment; a missing one stops start-up (exit 2), as in ``gate
rollout``. Providers are built for each switch and closed after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.config.loader import Document, load_file
from gate.config.node import Node
from gate.errors import ConfigError, ConfigErrors
from gate.providers.flags.killswitch import SwitchReport, build_flags, close_all, switch
from gate.providers.flags.registry import PROVIDERS
from gate.providers.registry import Configured, parse_block
from gate.secrets import refs_in, reveal


@dataclass(frozen=True)
class KillSwitchConfig:
    file: str | None = None
    canaries: Mapping[str, tuple[Configured, ...]] = field(default_factory=dict)

    def flags_for(self, namespace: str, name: str) -> tuple[Configured, ...]:
        return self.canaries.get(f"{namespace}/{name}", ())


def _schema() -> dict[str, Any]:
    from gate.rollout.spec import rollout_schema

    defs = rollout_schema()["$defs"]
    return {
        "$defs": defs,
        "type": "object",
        "additionalProperties": False,
        "required": ["canaries"],
        "properties": {
            "canaries": {
                "type": "object",
                "propertyNames": {"pattern": "^[^/\\s]+/[^/\\s]+$"},
                "additionalProperties": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"$ref": "#/$defs/flag"},
                },
            }
        },
    }


def parse_kill_switches(doc: Document) -> KillSwitchConfig:
    from jsonschema import Draft202012Validator

    if not isinstance(doc.data, dict):
        raise doc.error((), "expected a mapping with 'canaries'")
    problems: list[ConfigError] = []
    for err in Draft202012Validator(_schema()).iter_errors(doc.data):
        path = tuple(err.absolute_path)
        message = err.message
        if err.validator == "pattern" and len(path) == 1:
            message = f"{err.instance!r} is not namespace/name"
        problems.append(doc.error(path, message))
    if problems:
        problems.sort(key=lambda e: (e.line or 0, e.field or ""))
        raise ConfigErrors(problems)
    root = Node(doc, ("canaries",))
    canaries = {
        key: tuple(parse_block(PROVIDERS, n, "flag") for n in root[key].items())
        for key in root.mapping_keys()
    }
    for flags in canaries.values():  # a missing token is bad input now, not at rollback time
        for ref in refs_in([f.settings for f in flags]):
            reveal(ref)
    return KillSwitchConfig(doc.file, canaries)


def load_kill_switches(path: str | None) -> KillSwitchConfig:
    return KillSwitchConfig() if path is None else parse_kill_switches(load_file(path))


def turn_off(config: KillSwitchConfig, namespace: str, name: str) -> SwitchReport:
    """Turn off every flag configured for ``namespace/name``, each read back."""
    flags = build_flags(config.flags_for(namespace, name))
    try:
        return switch(flags, enabled=False)
    finally:
        close_all(flags)
