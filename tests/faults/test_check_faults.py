"""`gate check` with live checks against servers that drip, hang or never answer: it decides
within the checks' timeout (a check that could not decide fails closed), prints its decision,
and the process exits promptly — nothing it started holds it."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.faults import harness
from tests.faults.server import FaultServer

pytestmark = pytest.mark.integration

TIMEOUT = 2.0
CHANGE = harness.ROOT / "examples" / "change-request.yaml"


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer(max_seconds=60, drip_every=2.0) as s:
        yield s


def check_policy(tmp_path: Path, check: dict[str, Any]) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "gate/v1",
                "kind": "Policy",
                "metadata": {"name": "live"},
                "spec": {"checks": [{"name": "live", "timeout": f"{TIMEOUT:g}s", **check}]},
            }
        )
    )
    return path


def run_check(tmp_path: Path, policy: Path) -> tuple[int, dict[str, Any], str, float]:
    """``gate check --format json``: exit code, the JSON, stderr and the process's seconds."""
    began = time.monotonic()
    result = harness.gate(
        tmp_path / "state",
        "check",
        "--change",
        str(CHANGE),
        "--policy",
        str(policy),
        "--no-default-policy",
        "--format",
        "json",
        timeout=60,
    )
    seconds = time.monotonic() - began
    return result.returncode, json.loads(result.stdout), result.stderr, seconds


def live_checks(server_url: str) -> dict[str, dict[str, Any]]:
    return {
        "http-json": {
            "type": "http-json",
            "url": server_url + "/status",
            "pointer": "/state",
            "equals": "ok",
        },
        "error-budget": {
            "type": "error-budget",
            "url": server_url,
            "objective": 0.999,
            "window": "30d",
            "errorRatio": "sum(rate(errors[{{ window }}]))",
        },
    }


@pytest.mark.parametrize("check", ["http-json", "error-budget"])
@pytest.mark.parametrize("mode", ["drip", "hang", "hang-headers"])
def test_a_live_check_that_never_answers_decides_on_time_and_exits(
    server: FaultServer, tmp_path: Path, mode: str, check: str
) -> None:
    server.set(mode)
    code, report, stderr, seconds = run_check(
        tmp_path, check_policy(tmp_path, live_checks(server.url)[check])
    )
    assert code == 1, stderr
    assert report["decision"] == "block"
    (finding,) = [f for f in report["findings"] if "live" in f["rule"]]
    assert finding["severity"] == "block"
    assert "Traceback" not in stderr
    # the whole process, interpreter start-up included, ends soon after the check's timeout
    assert seconds < TIMEOUT + 8


def test_a_hanging_command_check_is_killed_on_time(tmp_path: Path) -> None:
    hang = [sys.executable, "-c", "import time; time.sleep(120)"]
    code, report, stderr, seconds = run_check(
        tmp_path, check_policy(tmp_path, {"type": "command", "argv": hang})
    )
    assert code == 1, stderr
    assert report["decision"] == "block"
    assert seconds < TIMEOUT + 8


def test_the_same_check_answered_in_time_allows(server: FaultServer, tmp_path: Path) -> None:
    """The control: a server that answers lets the same policy allow the change."""
    from tests.faults.server import Answer

    server.handler = lambda request: Answer(200, b'{"state": "ok"}')
    code, report, stderr, _ = run_check(
        tmp_path, check_policy(tmp_path, live_checks(server.url)["http-json"])
    )
    assert code == 0, stderr
    assert report["decision"] == "allow"
