"""Kill switches against a real Unleash server on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from gate.errors import ProviderRejected
from gate.providers.flags.interface import FlagRef
from gate.providers.flags.killswitch import KillSwitches, build_flags, missing_flags
from gate.providers.flags.unleash import UnleashProvider
from tests.cli.conftest import Result
from tests.integration.unleash import UnleashServer
from tests.providers.blocks import flags as flag_blocks

pytestmark = pytest.mark.integration


def feature(unleash: UnleashServer) -> str:
    name = f"new-checkout-{uuid.uuid4().hex[:8]}"
    unleash.create_feature(name)
    return name


def test_turn_off_reads_back_and_is_idempotent(unleash: UnleashServer) -> None:
    name = feature(unleash)
    provider = UnleashProvider(url=unleash.url, token=unleash.token)
    flag = FlagRef("unleash", name, "production", "default")
    try:
        provider.set_enabled(flag, True)
        assert provider.is_enabled(flag) is True
        provider.set_enabled(flag, False)
        provider.set_enabled(flag, False)
        assert provider.is_enabled(flag) is False
        # what Unleash itself says, read without our provider
        data = unleash.admin("GET", f"/api/admin/projects/default/features/{name}")
        assert {e["name"]: e["enabled"] for e in data["environments"]}["production"] is False
    finally:
        provider.close()


def test_kill_switch_from_a_spec_block(
    unleash: UnleashServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNLEASH_TOKEN", unleash.token)
    names = [feature(unleash) for _ in range(3)]
    for name in names:
        unleash.admin(
            "POST", f"/api/admin/projects/default/features/{name}/environments/production/on"
        )
    configs = [
        {
            "provider": "unleash",
            "url": unleash.url,
            "project": "default",
            "feature": n,
            "environment": "production",
            "tokenEnv": "UNLEASH_TOKEN",
        }
        for n in names
    ]
    configs.append({**configs[0], "feature": "does-not-exist"})
    switches = KillSwitches(build_flags(flag_blocks(*configs)))
    try:
        assert switches.probe() == [
            "unleash:default/does-not-exist@production (unleash: feature 'does-not-exist' not "
            "found in project 'default')"
        ]
        still_on = switches.turn_off()
    finally:
        switches.close()
    assert len(still_on) == 1
    assert still_on[0].startswith("unleash:default/does-not-exist@production (")
    assert unleash.token not in still_on[0]
    for name in names:
        data = unleash.admin("GET", f"/api/admin/projects/default/features/{name}")
        assert {e["name"]: e["enabled"] for e in data["environments"]}["production"] is False
    assert missing_flags(flag_blocks(*configs)) == ["unleash:default/does-not-exist@production"]


def test_wrong_token_is_refused(unleash: UnleashServer) -> None:
    provider = UnleashProvider(url=unleash.url, token="*:*.wrong")
    with pytest.raises(ProviderRejected, match="credentials were refused"):
        provider.set_enabled(FlagRef("unleash", "x"), False)
    provider.close()


def test_gate_flags_cli(
    unleash: UnleashServer, gate: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNLEASH_TOKEN", unleash.token)
    name = feature(unleash)
    args = (
        "--provider",
        "unleash",
        "--url",
        unleash.url,
        "--feature",
        name,
        "--token-env",
        "UNLEASH_TOKEN",
    )
    on = gate("flags", "on", *args)
    assert on.code == 0, on.err
    assert gate("flags", "status", *args).out == f"unleash:default/{name}@production: on\n"
    off = gate("flags", "off", *args)
    assert (off.code, off.out) == (0, f"unleash:default/{name}@production: off\n")
    assert unleash.token not in off.out + off.err
    missing_flag = gate("flags", "off", *args[:4], "--feature", "nope", *args[6:])
    assert missing_flag.code == 4
    assert "1 flag(s) are NOT off" in missing_flag.err
