"""Every backend name is written once: each registry feeds its schema's enum and the command
line's choices, and every registered backend parses its own block and refuses the others'."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click
import pytest

from gate.checks.registry import CHECKS
from gate.cli import cli
from gate.errors import ConfigError
from gate.providers.flags.registry import PROVIDERS as FLAGS
from gate.providers.metrics.registry import PROVIDERS as METRICS
from gate.providers.notify.registry import PROVIDERS as NOTIFIERS
from gate.providers.traffic.registry import ROUTERS
from gate.schemas import schema
from tests.providers.blocks import configured

ROLLOUT = schema("rollout")
SPEC = ROLLOUT["properties"]["spec"]["properties"]
ENUMS: list[tuple[str, Mapping[str, Any], list[str]]] = [
    ("traffic", ROUTERS, SPEC["traffic"]["properties"]["provider"]["enum"]),
    ("metrics", METRICS, SPEC["metrics"]["properties"]["provider"]["enum"]),
    ("flags", FLAGS, ROLLOUT["$defs"]["flag"]["properties"]["provider"]["enum"]),
    (
        "notify",
        NOTIFIERS,
        SPEC["notifications"]["items"]["properties"]["provider"]["enum"],
    ),
    ("checks", CHECKS, schema("live-check")["properties"]["type"]["enum"]),
    (
        "change-request flags",
        FLAGS,
        schema("change-request")["properties"]["flags"]["items"]["properties"]["provider"]["enum"],
    ),
]


@pytest.mark.parametrize(("kind", "registry", "enum"), ENUMS, ids=[e[0] for e in ENUMS])
def test_schema_enums_are_the_registries(
    kind: str, registry: Mapping[str, Any], enum: list[str]
) -> None:
    assert enum == list(registry)


def _choices(*path: str) -> list[str]:
    command: click.Command = cli
    for name in path[:-1]:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    (option,) = [p for p in command.params if p.name == path[-1]]
    assert isinstance(option.type, click.Choice)
    return list(option.type.choices)


def test_cli_choices_are_the_registries() -> None:
    for verb in ("off", "on", "status"):
        assert _choices("flags", verb, "provider") == list(FLAGS)


MINIMAL: dict[str, dict[str, Any]] = {
    "haproxy": {"socket": "/run/haproxy.sock", "backend": "app", "stable": "s", "canary": "c"},
    "command": {"set": ["kubectl", "{{ weight }}"]},
    "webhook": {"url": "https://router.example/set"},
    "dryrun": {},
    "prometheus": {"url": "http://127.0.0.1:9090"},
}
FLAG_MINIMAL: dict[str, dict[str, Any]] = {
    "unleash": {"url": "https://unleash.example", "tokenEnv": "T", "feature": "f"},
    "launchdarkly": {"tokenEnv": "T", "feature": "f"},
    "flagd": {"path": "flags.json", "feature": "f"},
    "webhook": {"url": "https://flags.example", "feature": "f"},
}
NOTIFY_MINIMAL: dict[str, dict[str, Any]] = {
    "slack": {"urlEnv": "SLACK_URL"},
    "pagerduty": {"routingKeyEnv": "PD_KEY"},
    "webhook": {"url": "https://hooks.example", "secretEnv": "HOOK_SECRET"},
}
CASES: list[tuple[str, Mapping[str, Any], dict[str, dict[str, Any]]]] = [
    ("traffic", ROUTERS, MINIMAL),
    ("metrics", METRICS, MINIMAL),
    ("flags", FLAGS, FLAG_MINIMAL),
    ("notify", NOTIFIERS, NOTIFY_MINIMAL),
]


@pytest.mark.parametrize(("kind", "registry", "blocks"), CASES, ids=[c[0] for c in CASES])
def test_every_backend_parses_its_block_and_refuses_a_stranger(
    kind: str, registry: Mapping[str, Any], blocks: dict[str, dict[str, Any]]
) -> None:
    for name in registry:
        (parsed,) = configured(registry, {"provider": name, **blocks[name]})
        assert parsed.provider == name
        assert type(parsed.settings) is registry[name].settings
        with pytest.raises(ConfigError, match=r"items\[0\]\.bogus: not a setting of the "):
            configured(registry, {"provider": name, **blocks[name], "bogus": 1})


def test_unknown_provider_names_the_registered_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown traffic provider 'haproxi'.*did you mean"):
        configured(ROUTERS, {"provider": "haproxi"}, kind="traffic")
