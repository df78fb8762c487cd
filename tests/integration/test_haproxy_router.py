"""HAProxyRouter against a real HAProxy: weights set and read back, traffic really shifts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.errors import ProviderRejected, ProviderUnavailable
from gate.providers.traffic.haproxy import HAProxyRouter
from tests.integration.stack import Stack

pytestmark = pytest.mark.integration


def _router(stack: Stack, via: str, **kw: str) -> HAProxyRouter:
    where = (
        {"socket": stack.haproxy.socket}
        if via == "unix"
        else {"address": stack.haproxy.admin_address}
    )
    names = {"backend": "app", "stable": "stable", "canary": "canary", **kw}
    return HAProxyRouter(**where, **names, timeout=2)


@pytest.fixture
def restore(shared_stack: Stack) -> Iterator[None]:
    yield
    shared_stack.haproxy.command("set server app/canary weight 0")
    shared_stack.haproxy.command("set server app/stable weight 100")


@pytest.mark.parametrize("via", ["unix", "tcp"])
@pytest.mark.usefixtures("restore")
def test_set_and_read_back(shared_stack: Stack, via: str) -> None:
    router = _router(shared_stack, via)
    assert router.canary_weight() == 0
    for percent, expected in [(1, (1, 99)), (25, (25, 75)), (100, (100, 0)), (0, (0, 100))]:
        router.set_canary_weight(percent)
        assert shared_stack.haproxy.weights() == {"canary": expected[0], "stable": expected[1]}
        assert router.canary_weight() == percent
    assert router.server_weight("canary") == (0, 0)
    assert router.server_weight("stable") == (100, 100)


@pytest.mark.parametrize("via", ["unix", "tcp"])
def test_unknown_server_or_backend_is_rejected(shared_stack: Stack, via: str) -> None:
    with pytest.raises(ProviderRejected, match=r"app/nope: No such server"):
        _router(shared_stack, via, canary="nope").set_canary_weight(5)
    with pytest.raises(ProviderRejected, match=r"get weight nope/canary: No such backend"):
        _router(shared_stack, via, backend="nope").canary_weight()
    assert shared_stack.haproxy.weights() == {"stable": 100, "canary": 0}


def test_socket_without_admin_level_is_rejected(shared_stack: Stack) -> None:
    router = HAProxyRouter(
        socket=shared_stack.haproxy.user_socket, backend="app", stable="stable", canary="canary"
    )
    with pytest.raises(ProviderRejected, match="level admin"):
        router.set_canary_weight(5)
    assert shared_stack.haproxy.weights() == {"stable": 100, "canary": 0}


def test_unreachable_runtime_api_is_unavailable(tmp_path: Path) -> None:
    missing = HAProxyRouter(
        socket=str(tmp_path / "none.sock"), backend="app", stable="s", canary="c"
    )
    with pytest.raises(ProviderUnavailable, match="cannot reach the runtime API"):
        missing.set_canary_weight(5)
    from tests.integration.stack import free_port

    closed = HAProxyRouter(
        address=f"127.0.0.1:{free_port()}", backend="app", stable="s", canary="c"
    )
    with pytest.raises(ProviderUnavailable, match="cannot reach the runtime API"):
        closed.canary_weight()


def test_rejects_out_of_range_and_bad_names() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        HAProxyRouter(backend="app", stable="s", canary="c")
    with pytest.raises(ValueError, match="valid HAProxy name"):
        HAProxyRouter(socket="/x", backend="app; shutdown", stable="s", canary="c")
    router = HAProxyRouter(socket="/x", backend="app", stable="s", canary="c")
    with pytest.raises(ValueError, match="percentage"):
        router.set_canary_weight(101)


def _share_after(stack: Stack, router: HAProxyRouter, percent: int) -> dict[str, int]:
    router.set_canary_weight(percent)
    load = stack.load(rps=100, seconds=2).wait()
    assert load.failures == 0
    assert all(status == 200 for _, status in load.tally)
    return load.versions()


@pytest.mark.usefixtures("restore")
def test_traffic_really_shifts(shared_stack: Stack) -> None:
    router = _router(shared_stack, "unix")
    none = _share_after(shared_stack, router, 0)
    assert none.get("canary", 0) == 0
    assert none["stable"] > 100
    half = _share_after(shared_stack, router, 50)
    assert abs(half["canary"] - half["stable"]) <= 0.1 * sum(half.values())
    quarter = _share_after(shared_stack, router, 25)
    assert 0.15 < quarter["canary"] / sum(quarter.values()) < 0.35
    everything = _share_after(shared_stack, router, 100)
    assert everything.get("stable", 0) == 0
    assert everything["canary"] > 100


@pytest.mark.usefixtures("restore")
def test_flipping_never_leaves_the_backend_without_a_server(shared_stack: Stack) -> None:
    router = _router(shared_stack, "tcp")
    load = shared_stack.load(rps=200, seconds=3)
    deadline = time.monotonic() + 2.5
    flips = 0
    while time.monotonic() < deadline:
        router.set_canary_weight(100 if flips % 2 == 0 else 0)
        flips += 1
    load.wait()
    assert flips > 20
    assert load.failures == 0
    assert {status for _, status in load.tally} == {200}
