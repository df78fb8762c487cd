"""``POST /v1/check`` in-process: the same JSON as ``gate check --format json``, the same
one-line messages for bad input, and an HTTP status a caller can act on."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.errors import ConfigError
from tests.cli.conftest import Result
from tests.cli.test_broken_inputs import CHANGE_CASES
from tests.serve.conftest import REPO, MakeClient

EXAMPLES = sorted(p.name for p in (REPO / "examples").glob("change-*.yaml"))
STATUS = {"allow": 200, "warn": 200, "block": 403}


def without_times(report: dict[str, Any], change_file: str) -> dict[str, Any]:
    """The report with its time fields dropped and the change's file named as the server names
    a request body."""
    text = json.dumps(report).replace(json.dumps(change_file)[1:-1], "<request>")
    out: dict[str, Any] = json.loads(text)
    out.pop("evaluated_at")
    for check in out["checks"]:
        check.pop("seconds")
    return out


def cli_report(gate: Callable[..., Result], change: str, *args: str) -> dict[str, Any]:
    r = gate("check", "--change", change, "--format", "json", *args)
    assert r.code in (0, 1), r.err
    report: dict[str, Any] = json.loads(r.out)
    return report


@pytest.mark.parametrize("example", EXAMPLES)
def test_bundled_examples_answer_what_gate_check_prints(
    make_client: MakeClient, gate: Callable[..., Result], example: str
) -> None:
    change = f"examples/{example}"
    expected = cli_report(gate, change)
    r = make_client().post("/v1/check", content=(REPO / change).read_bytes())
    assert r.status_code == STATUS[expected["decision"]]
    assert r.headers["content-type"] == "application/json"
    assert r.headers["gate-decision"] == expected["decision"]
    assert without_times(r.json(), "<request>") == without_times(expected, change)


def test_the_body_is_the_text_gate_check_prints(
    make_client: MakeClient, gate: Callable[..., Result]
) -> None:
    """Not only equal JSON: the same rendering (key order, indentation, final newline)."""
    change = "examples/change-block.yaml"
    printed = gate("check", "--change", change, "--format", "json").out
    body = make_client().post("/v1/check", content=(REPO / change).read_bytes()).text
    assert (
        body.replace('"<request>"', json.dumps(change)).split('"evaluated_at"')[0]
        == (printed.split('"evaluated_at"')[0])
    )


def test_wrapped_request_with_environment_and_server_policies(
    make_client: MakeClient, gate: Callable[..., Result]
) -> None:
    """``{"change": …, "environment": …}``; scoped policies apply as with ``--env``."""
    policy = "examples/policies/windows.yaml"
    change = "examples/change-request.yaml"
    expected = cli_report(gate, change, "--policy", policy, "--env", "production")
    assert "release-windows" in expected["policies"]
    import yaml

    body = {"change": yaml.safe_load((REPO / change).read_text()), "environment": "production"}
    r = make_client(policies=(policy,)).post("/v1/check", json=body)
    assert r.status_code == STATUS[expected["decision"]]
    got = without_times(r.json(), "<request>")
    want = without_times(expected, change)
    # the wrapped body has other line numbers than the file: compare everything else
    for report in (got, want):
        for finding in report["findings"]:
            if finding["location"]["file"] == "<request>":
                finding["location"]["line"] = None
    assert got == want


def test_live_checks_run_and_fail_closed_as_in_gate_check(
    make_client: MakeClient, gate: Callable[..., Result], tmp_path: Path
) -> None:
    policy = tmp_path / "live.yaml"
    policy.write_text(
        json.dumps(
            {
                "apiVersion": "gate/v1",
                "kind": "Policy",
                "metadata": {"name": "live"},
                "spec": {
                    "checks": [
                        {
                            "type": "command",
                            "name": "smoke",
                            "argv": [sys.executable, "-c", "raise SystemExit(3)"],
                        },
                        {
                            "type": "error-budget",
                            "name": "budget",
                            "url": "http://127.0.0.1:9",
                            "objective": 0.999,
                            "errorRatio": "vector(0) * count_over_time(up[{{ window }}])",
                            "timeout": "2s",
                        },
                    ]
                },
            }
        )
    )
    change = "examples/change-pass.yaml"
    expected = cli_report(gate, change, "--policy", str(policy))
    r = make_client(policies=(str(policy),)).post("/v1/check", content=(REPO / change).read_bytes())
    assert r.status_code == 403
    report = r.json()
    assert {c["name"]: c["outcome"] for c in report["checks"]} == {
        "smoke": "fail",
        "budget": "error",
    }
    assert [f["rule"] for f in report["findings"] if f["severity"] == "block"] == [
        "check:smoke",
        "check:budget",
    ]
    assert without_times(report, "<request>") == without_times(expected, change)


def test_a_token_the_policies_need_is_there_when_the_server_starts(
    make_client: MakeClient, tmp_path: Path
) -> None:
    """Not a 422 blaming each request: the server's own environment lacks it."""
    policy = tmp_path / "live.yaml"
    policy.write_text(
        "apiVersion: gate/v1\nkind: Policy\nmetadata: {name: live}\nspec:\n  checks:\n"
        "    - {name: pd, type: incidents, tokenEnv: PD_TOKEN}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        make_client(policies=(str(policy),))
    assert str(caught.value) == (
        f"{policy}:6: spec.checks[0].tokenEnv: environment variable PD_TOKEN is not set"
    )


def test_fail_on_warn(make_client: MakeClient) -> None:
    client = make_client()
    warn = (REPO / "examples/change-warn.yaml").read_bytes()
    allow = (REPO / "examples/change-pass.yaml").read_bytes()
    assert client.post("/v1/check", content=warn).status_code == 200
    r = client.post("/v1/check?failOn=warn", content=warn)
    assert (r.status_code, r.json()["decision"]) == (403, "warn")
    assert client.post("/v1/check?failOn=warn", content=allow).status_code == 200
    bad = client.post("/v1/check?failOn=never", content=allow)
    assert bad.status_code == 400
    assert bad.json()["error"] == "failOn: 'never' is not one of: block, warn"


@pytest.mark.parametrize(("name", "message"), sorted(CHANGE_CASES.items()))
def test_broken_change_requests_get_gate_s_own_lines(
    make_client: MakeClient, gate: Callable[..., Result], name: str, message: str
) -> None:
    """Every broken change request of the CLI's table: the same lines ``gate check`` prints,
    with the request body as the file; 400 when it cannot be read, 422 when it is invalid."""
    path = f"tests/broken_inputs/{name}"
    printed = gate("check", "--change", path).err.splitlines()
    expected = [line.removeprefix("gate: error: ").replace(path, "<request>") for line in printed]
    r = make_client().post("/v1/check", content=(REPO / path).read_bytes())
    assert r.status_code in (400, 422)
    body = r.json()
    assert body["errors"] == expected
    assert body["error"] == expected[0]
    assert message in body["error"]
    assert body["error"].startswith("<request>:")


def test_syntax_errors_are_400_and_schema_errors_422(make_client: MakeClient) -> None:
    client = make_client()
    r = client.post("/v1/check", content=b'{"id": "CHG-1",\n "title": "x",,}')
    assert r.status_code == 400
    assert r.json()["error"].startswith("<request>:2: invalid YAML")
    r = client.post("/v1/check", json={"id": "CHG-1"})
    assert r.status_code == 422
    assert "<request>:1: title: required field is missing" in r.json()["errors"]


def test_not_utf8_is_400_with_its_line(make_client: MakeClient) -> None:
    r = make_client().post("/v1/check", content=b'{"id": "x",\n"title": "\xff"}')
    assert (r.status_code, r.json()["error"]) == (400, "<request>:2: not UTF-8 text")


def test_surrogate_escapes_as_json_writers_write_them(make_client: MakeClient) -> None:
    """A character past the BMP escaped as a UTF-16 pair is that character; half a pair
    alone is no text and a 400 naming where it is, not a server error."""
    change = yaml.safe_load((REPO / "examples/change-pass.yaml").read_text("utf-8"))
    client = make_client()
    r = client.post("/v1/check", content=json.dumps({**change, "id": "CHG-\U0001f680"}))
    assert r.status_code == 200, r.text
    assert r.json()["change"]["id"] == "CHG-\U0001f680"
    lone = json.dumps({**change, "id": "CHG-\udcff"}).replace(", ", ",\n")
    r = client.post("/v1/check", content=lone)
    assert (r.status_code, r.json()["error"]) == (
        400,
        "<request>:1: id: holds \\udcff, half of a UTF-16 surrogate pair: not text",
    )


def test_wrapper_mistakes_are_located(make_client: MakeClient) -> None:
    client = make_client()
    r = client.post("/v1/check", content=b'{"change": {},\n "env": "production"}')
    assert r.status_code == 422
    assert r.json()["error"] == (
        "<request>:2: env: unknown key 'env'; a wrapped request has: change, environment"
    )
    r = client.post("/v1/check", content=b'{"change": [],\n "environment": "production"}')
    assert r.json()["error"] == (
        "<request>:1: change: expected a mapping (the change-request fields)"
    )
    r = client.post("/v1/check", content=b'{"change": {"id": "x"},\n "environment": 3}')
    assert r.json()["error"] == "<request>:2: environment: expected a string"
    r = client.post("/v1/check", content=b'{"change": {"id": "C-1",\n  "title": 5}}')
    assert r.status_code == 422
    assert "<request>:2: title: expected string, got integer 5" in r.json()["errors"]
