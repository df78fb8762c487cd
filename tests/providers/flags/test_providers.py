"""Flag providers: LaunchDarkly against its documented REST shapes (respx), flagd on real files,
and the kill switch over fakes of our own interface."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest
import respx

from gate.errors import ConfigError, ProviderRejected, ProviderUnavailable
from gate.providers.flags.flagd import FlagdProvider
from gate.providers.flags.interface import FlagRef
from gate.providers.flags.killswitch import build_flags, switch
from gate.providers.flags.launchdarkly import LaunchDarklyProvider
from tests.providers.blocks import flags as flag_blocks

LD = "https://app.launchdarkly.com"
FLAG = FlagRef(
    provider="launchdarkly", feature="new-checkout", environment="production", project="shop"
)


def ld(**kw: object) -> LaunchDarklyProvider:
    return LaunchDarklyProvider(token="api-secret-token", sleep=lambda s: None, **kw)  # type: ignore[arg-type]


@respx.mock
def test_launchdarkly_turn_off_is_a_semantic_patch() -> None:
    route = respx.patch(f"{LD}/api/v2/flags/shop/new-checkout").mock(
        return_value=httpx.Response(200, json={"key": "new-checkout"})
    )
    ld().set_enabled(FLAG, False)
    request = route.calls.last.request
    assert request.headers["Content-Type"] == (
        "application/json; domain-model=launchdarkly.semanticpatch"
    )
    assert request.headers["LD-API-Version"] == "20240415"
    assert request.headers["Authorization"] == "api-secret-token"
    assert json.loads(request.content) == {
        "environmentKey": "production",
        "instructions": [{"kind": "turnFlagOff"}],
    }


@respx.mock
def test_launchdarkly_retries_conflicts_and_honours_retry_after() -> None:
    slept: list[float] = []
    route = respx.patch(f"{LD}/api/v2/flags/shop/new-checkout").mock(
        side_effect=[
            httpx.Response(409, json={"code": "conflict"}),
            httpx.Response(429, headers={"Retry-After": "2"}, json={"code": "rate_limited"}),
            httpx.Response(200, json={}),
        ]
    )
    LaunchDarklyProvider(token="t", sleep=slept.append).set_enabled(FLAG, True)
    assert route.call_count == 3
    assert 2.0 in slept
    body = json.loads(route.calls.last.request.content)
    assert body["instructions"] == [{"kind": "turnFlagOn"}]


@respx.mock
def test_launchdarkly_reads_back_the_environment_state() -> None:
    respx.get(f"{LD}/api/v2/flags/shop/new-checkout", params={"env": "production"}).mock(
        return_value=httpx.Response(
            200,
            json={
                "key": "new-checkout",
                "environments": {"production": {"on": False, "version": 7}},
            },
        )
    )
    assert ld().is_enabled(FLAG) is False
    assert ld().exists(FLAG) is True


@respx.mock
def test_launchdarkly_errors_never_show_the_token() -> None:
    respx.patch(f"{LD}/api/v2/flags/shop/new-checkout").mock(
        return_value=httpx.Response(401, json={"code": "unauthorized"})
    )
    with pytest.raises(ProviderRejected) as info:
        ld().set_enabled(FLAG, False)
    assert "api-secret-token" not in str(info.value)
    respx.patch(f"{LD}/api/v2/flags/shop/new-checkout").mock(
        side_effect=httpx.ConnectError("refused")
    )
    with pytest.raises(ProviderUnavailable):
        ld(retries=1).set_enabled(FLAG, False)


def flag_file(tmp_path: Path) -> Path:
    path = tmp_path / "flags.json"
    path.write_text(
        json.dumps(
            {
                "flags": {
                    "new-checkout": {
                        "state": "ENABLED",
                        "variants": {"on": True, "off": False},
                        "defaultVariant": "off",
                        "targeting": {
                            "if": [{"in": ["@example.com", {"var": "email"}]}, "on", "off"]
                        },
                    }
                }
            }
        )
    )
    return path


def test_flagd_kill_switch_sets_the_off_variant_and_removes_targeting(tmp_path: Path) -> None:
    path = flag_file(tmp_path)
    ref = FlagRef("flagd", "new-checkout")
    provider = FlagdProvider(path=str(path))
    assert provider.is_enabled(ref)
    provider.set_enabled(ref, False)
    flag = json.loads(path.read_text())["flags"]["new-checkout"]
    assert flag["defaultVariant"] == "off"
    assert "targeting" not in flag
    assert not provider.is_enabled(ref)
    provider.set_enabled(ref, False)  # idempotent
    provider.set_enabled(ref, True)
    restored = json.loads(path.read_text())["flags"]["new-checkout"]
    assert restored["targeting"] == {
        "if": [{"in": ["@example.com", {"var": "email"}]}, "on", "off"]
    }
    assert "metadata" not in restored


def test_flagd_file_is_valid_at_every_instant(tmp_path: Path) -> None:
    path = flag_file(tmp_path)
    ref = FlagRef("flagd", "new-checkout")
    provider = FlagdProvider(path=str(path))
    stop = threading.Event()
    bad: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                json.loads(path.read_text())
            except ValueError as exc:
                bad.append(str(exc))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(200):
            provider.set_enabled(ref, i % 2 == 0)
    finally:
        stop.set()
        thread.join()
    assert bad == []


class FakeFlags:
    """A FlagProvider fake: some flags refuse to turn off."""

    name = "fake"

    def __init__(self, stuck: set[str]) -> None:
        self.state: dict[str, bool] = {}
        self.stuck = stuck

    def set_enabled(self, flag: FlagRef, enabled: bool) -> None:
        if flag.feature in self.stuck:
            raise ProviderUnavailable("timed out", provider="fake")
        self.state[flag.feature] = enabled

    def is_enabled(self, flag: FlagRef) -> bool:
        return self.state.get(flag.feature, True)

    def exists(self, flag: FlagRef) -> bool:
        return True

    def can_write(self, flag: FlagRef) -> None:
        pass

    def close(self) -> None:
        pass


def test_partial_failure_names_exactly_the_flags_still_on() -> None:
    fake = FakeFlags(stuck={"b"})
    flags = [(FlagRef("fake", name), fake) for name in ("a", "b", "c")]
    report = switch(flags, enabled=False)
    assert [o.flag.feature for o in report.failed] == ["b"]
    assert report.still_wrong() == ["fake:default/b@production (fake: timed out)"]
    assert fake.state == {"a": False, "c": False}


def test_missing_token_is_bad_input_before_anything_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    config = {
        "provider": "unleash",
        "url": "http://127.0.0.1:4242",
        "feature": "x",
        "tokenEnv": "UNLEASH_TOKEN",
    }
    with pytest.raises(
        ConfigError,
        match=r"^spec.yaml: items\[0\].tokenEnv: environment variable UNLEASH_TOKEN is not set$",
    ):
        build_flags(flag_blocks(config))
    with pytest.raises(ConfigError, match=r"items\[0\].path: required field is missing"):
        flag_blocks({"provider": "flagd", "feature": "x"})
