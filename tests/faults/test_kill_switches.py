"""Kill switches under faults: concurrent writers of one flagd file lose nothing, off then on
restores each flag exactly, and a kill switch that cannot be switched is found before any
traffic moves (exit 2) — or, when it breaks later, is named in a loud exit 4, never exit 3."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.faults import harness
from tests.faults.server import Answer, FaultServer, Request
from tests.integration.stack import Stack

pytestmark = pytest.mark.integration

TOKEN = "flag-admin-token-0123456789"


def flags_document(n: int) -> dict[str, Any]:
    """``n`` flags of every shape a kill switch must restore exactly."""
    flags: dict[str, Any] = {}
    for i in range(n):
        shape = i % 4
        if shape == 0:
            flag = {
                "state": "ENABLED",
                "variants": {"on": True, "off": False},
                "defaultVariant": "on",
                "targeting": {"if": [{"in": ["@example.com", {"var": "email"}]}, "on", "off"]},
            }
        elif shape == 1:
            flag = {
                "state": "ENABLED",
                "variants": {"blue": "#00f", "green": "#0f0", "off": "#000"},
                "defaultVariant": "green",
                "metadata": {"owner": "team-checkout", "ticket": i},
            }
        elif shape == 2:
            flag = {
                "state": "ENABLED",
                "variants": {"enabled": True, "disabled": False},
                "defaultVariant": "disabled",
                "targeting": {"fractional": [{"var": "userId"}, ["enabled", 10], ["disabled", 90]]},
            }
        else:
            flag = {
                "state": "ENABLED",
                "variants": {"v1": 1, "v2": 2, "off": 0},
                "defaultVariant": "v2",
                "targeting": {},
                "metadata": {"gate.note": "kept"},
            }
        flags[f"feature-{i:02d}"] = flag
    return {"$schema": "https://flagd.dev/schema/v0/flags.json", "flags": flags}


def _flag_list(path: Path, features: list[str], where: Path) -> Path:
    where.write_text(
        json.dumps(
            {"flags": [{"provider": "flagd", "path": str(path), "feature": f} for f in features]}
        )
    )
    return where


def _gate_all(state: Path, lists: list[Path], word: str) -> list[subprocess.Popen[str]]:
    """``gate flags WORD --file LIST`` for every list at once, as separate processes."""
    return [
        subprocess.Popen(
            [sys.executable, "-m", "gate", "flags", word, "--file", str(lst)],
            cwd=harness.ROOT,
            env=harness.env(state),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for lst in lists
    ]


def _finish(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, out + err


def test_concurrent_writers_switch_every_flag_and_on_restores_exactly(tmp_path: Path) -> None:
    """Four processes, each switching three flags of the same file from its own threads, all
    at once; then the same to turn them on again. Three rounds."""
    path = tmp_path / "flags.json"
    original = flags_document(12)
    path.write_text(json.dumps(original, indent=2))
    features = sorted(original["flags"])
    lists = [_flag_list(path, features[k::4], tmp_path / f"list-{k}.json") for k in range(4)]
    state = tmp_path / "state"
    for _ in range(3):
        _finish(_gate_all(state, lists, "off"))
        switched = json.loads(path.read_text())["flags"]
        for name, before in original["flags"].items():
            after = switched[name]
            off = "off" if "off" in before["variants"] else "disabled"
            assert after["defaultVariant"] == off, name
            assert "targeting" not in after, name
        status = harness.gate(state, "flags", "status", "--file", str(lists[0]))
        assert status.returncode == 0
        assert status.stdout.count(": off") == 3
        _finish(_gate_all(state, lists, "on"))
        assert json.loads(path.read_text()) == original


def _spec_with_flag(
    stack: Stack, prometheus: FaultServer, tmp_path: Path, flag: dict[str, Any]
) -> Path:
    data = harness.spec(
        stack, prometheus.url, timeout="2s", consecutive_error_limit=0, flags=[flag]
    )
    return harness.write(tmp_path / "rollout.yaml", data)


def fake_unleash(enabled: dict[str, bool]) -> Any:
    """Unleash's admin API for the features in ``enabled``, strictly: anything else is 404."""
    prefix = "/api/admin/projects/default/features/"

    def handler(request: Request) -> Answer:
        if request.headers.get("authorization") != TOKEN or not request.path.startswith(prefix):
            return Answer(404, b'{"message": "not found"}')
        feature, _, rest = request.path.removeprefix(prefix).partition("/")
        if feature not in enabled:
            return Answer(404, b'{"message": "not found"}')
        if request.method == "GET" and not rest:
            envs = [{"name": "production", "enabled": enabled[feature]}]
            return Answer(200, json.dumps({"name": feature, "environments": envs}).encode())
        if request.method == "POST" and rest in (
            "environments/production/on",
            "environments/production/off",
        ):
            enabled[feature] = rest.endswith("/on")
            return Answer(200, b"")
        return Answer(404, b'{"message": "not found"}')

    return handler


def fake_launchdarkly(enabled: dict[str, bool]) -> Any:
    """LaunchDarkly's flag API (GET and semantic PATCH) for ``enabled``, strictly."""
    prefix = "/api/v2/flags/default/"

    def handler(request: Request) -> Answer:
        parts = urlsplit(request.path)
        feature = parts.path.removeprefix(prefix)
        if request.headers.get("authorization") != TOKEN or feature not in enabled:
            return Answer(404, b'{"message": "not found"}')
        if request.method == "GET" and parse_qs(parts.query) == {"env": ["production"]}:
            body = {"key": feature, "environments": {"production": {"on": enabled[feature]}}}
            return Answer(200, json.dumps(body).encode())
        if request.method == "PATCH" and "semanticpatch" in request.headers.get("content-type", ""):
            patch = json.loads(request.body)
            kind = patch["instructions"][0]["kind"]
            enabled[feature] = kind == "turnFlagOn"
            return Answer(200, b"{}")
        return Answer(404, b'{"message": "not found"}')

    return handler


@pytest.fixture
def flag_server() -> Iterator[FaultServer]:
    with FaultServer(max_seconds=60) as server:
        yield server


def _flag(kind: str, flag_server: FaultServer, tmp_path: Path) -> dict[str, Any]:
    """The spec's kill switch for ``kind``, its server or file ready and working."""
    enabled = {"new-checkout": True}
    if kind == "flagd":
        path = tmp_path / "flags.json"
        path.write_text(json.dumps(flags_document(1)))
        return {"provider": "flagd", "path": str(path), "feature": "feature-00"}
    if kind == "unleash":
        flag_server.handler = fake_unleash(enabled)
        return {
            "provider": "unleash",
            "url": flag_server.url,
            "feature": "new-checkout",
            "tokenEnv": "FLAG_TOKEN",
        }
    assert kind == "launchdarkly"
    flag_server.handler = fake_launchdarkly(enabled)
    return {
        "provider": "launchdarkly",
        "url": flag_server.url,
        "feature": "new-checkout",
        "tokenEnv": "FLAG_TOKEN",
    }


Spoil = Callable[[dict[str, Any], FaultServer], dict[str, Any]]


def _html(flag: dict[str, Any], server: FaultServer) -> dict[str, Any]:
    server.set("html")  # a login portal in front of the API, answering 200
    return flag


UNSWITCHABLE: dict[str, tuple[str, Spoil, str]] = {
    "wrong-url": ("unleash", lambda f, s: {**f, "url": "http://127.0.0.1:9"}, "cannot connect"),
    "missing-flagd-file": (
        "flagd",
        lambda f, s: {**f, "path": f["path"] + ".missing"},
        "no such flag file",
    ),
    "misspelt-flagd-feature": ("flagd", lambda f, s: {**f, "feature": "feature-0O"}, "not in"),
    "misspelt-unleash-feature": (
        "unleash",
        lambda f, s: {**f, "feature": "new-chekout"},
        "not found",
    ),
    "html-unleash": ("unleash", _html, "not JSON"),
    "html-launchdarkly": ("launchdarkly", _html, "not JSON"),
}


@pytest.mark.parametrize("case", list(UNSWITCHABLE))
def test_a_kill_switch_that_cannot_be_switched_stops_the_start(
    stack: Stack,
    prometheus: FaultServer,
    weights: harness.Weights,
    flag_server: FaultServer,
    state: Path,
    tmp_path: Path,
    case: str,
) -> None:
    kind, spoil, words = UNSWITCHABLE[case]
    flag = spoil(_flag(kind, flag_server, tmp_path), flag_server)
    spec = _spec_with_flag(stack, prometheus, tmp_path, flag)
    result = harness.gate(state, "rollout", str(spec), extra_env={"FLAG_TOKEN": TOKEN})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "kill switches could not be turned off" in result.stderr
    assert flag["feature"] in result.stderr
    assert words in result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert weights.seen() == [0]
    assert harness.journal(state)["status"] == "failed-to-start"


def _break(kind: str, flag: dict[str, Any], flag_server: FaultServer) -> None:
    if kind == "flagd":
        Path(flag["path"]).unlink()
    else:
        flag_server.set("html")


@pytest.mark.parametrize("kind", ["flagd", "unleash", "launchdarkly"])
def test_a_kill_switch_that_breaks_later_is_named_in_exit_4(
    stack: Stack,
    prometheus: FaultServer,
    weights: harness.Weights,
    flag_server: FaultServer,
    state: Path,
    tmp_path: Path,
    kind: str,
) -> None:
    """It passes the preflight, then breaks while the canary has traffic (a removed flag file,
    an HTML login page with 200); the query that follows hangs to its 2 s deadline and the
    rollout rolls back: traffic returns to stable, and the switch is named in exit 4."""
    flag = _flag(kind, flag_server, tmp_path)
    prometheus.set("normal", after=1, then="hang")
    spec = _spec_with_flag(stack, prometheus, tmp_path, flag)
    driver = harness.Driver(state, "rollout", "rollout", str(spec), extra_env={"FLAG_TOKEN": TOKEN})
    try:
        harness.wait_for_stage(stack, 10, 30)
        _break(kind, flag, flag_server)
        code = driver.wait(60)
    finally:
        driver.kill()
    output = driver.output()
    assert code == 4, output
    assert "Traceback" not in output
    assert "these kill switches are still ON" in driver.stderr
    assert flag["feature"] in driver.stderr
    assert TOKEN not in output
    assert harness.weights(stack) == {"canary": 0, "stable": 100}
    journaled = harness.journal(state)
    assert journaled["status"] == "rollback-failed"
    assert [f.split(" ")[0] for f in journaled["flags_still_on"]] == [
        f"{kind}:default/{flag['feature']}@production"
    ]
    assert 100 not in weights.seen()
