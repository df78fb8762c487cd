"""`gate check` end to end through the CLI: formats, exit codes, golden outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gate.report import FORMATS
from tests.cli.conftest import REPO, Result, assert_golden

NOW = "--now=2026-11-22T12:00:00+00:00"
EXAMPLES = {"pass": 0, "warn": 0, "block": 1}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_examples_golden(gate: Callable[..., Result], example: str, fmt: str) -> None:
    r = gate("check", "--change", f"examples/change-{example}.yaml", "--format", fmt, NOW)
    assert r.code == EXAMPLES[example]
    assert r.err == ""
    # SARIF names the repository root as an absolute URI: the clone's place is not golden
    assert_golden(f"check/{example}.{fmt}", r.out.replace(REPO.as_uri() + "/", "file:///REPO/"))


def test_json_contract(gate: Callable[..., Result]) -> None:
    r = gate("check", "--change", "examples/change-block.yaml", "--format", "json", NOW)
    data = json.loads(r.out)
    assert data["decision"] == "block"
    assert data["risk_score"] == 100
    assert data["next_allowed_at"] is None
    first = data["findings"][0]
    assert set(first) >= {"rule", "severity", "message", "remediation", "location"}
    assert first["location"] == {"file": "examples/change-block.yaml", "line": 8}


def test_fail_on_warn_turns_a_warning_into_exit_1(gate: Callable[..., Result]) -> None:
    args = ("check", "--change", "examples/change-warn.yaml", NOW)
    assert gate(*args).code == 0
    assert gate(*args, "--fail-on", "warn").code == 1
    assert (
        gate("check", "--change", "examples/change-pass.yaml", "--fail-on", "warn", NOW).code == 0
    )


def test_output_file(gate: Callable[..., Result], tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    r = gate("check", "--change", "examples/change-warn.yaml", "-f", "json", "-o", str(out), NOW)
    assert r.code == 0
    assert r.out == ""
    assert json.loads(out.read_text())["decision"] == "warn"


def test_override_is_reported(gate: Callable[..., Result]) -> None:
    r = gate(
        "check",
        "--change",
        "examples/change-warn.yaml",
        "--override",
        "CAB-7 approved",
        "-f",
        "json",
        NOW,
    )
    data = json.loads(r.out)
    assert {b["rule"] for b in data["bypasses"]} == {
        "maintenance-window",
        "weekend",
        "business-hours",
    }
    assert {b["justification"] for b in data["bypasses"]} == {"CAB-7 approved"}
    text = gate(
        "check", "--change", "examples/change-warn.yaml", "--override", "CAB-7 approved", NOW
    ).out
    assert "BYPASS weekend skipped (override): CAB-7 approved" in text


def test_user_policy_directory_and_env(gate: Callable[..., Result], tmp_path: Path) -> None:
    # the example policies but live-checks.yaml, whose checks need tokens and servers
    policies = tmp_path / "policies"
    policies.mkdir()
    for example in (REPO / "examples/policies").glob("*.yaml"):
        if example.name != "live-checks.yaml":
            (policies / example.name).write_bytes(example.read_bytes())
    r = gate(
        "check",
        "--change",
        "examples/change-request.yaml",
        "--policy",
        str(policies),
        "--env",
        "production",
        "-f",
        "json",
        NOW,
    )
    data = json.loads(r.out)
    assert r.code in (0, 1)
    assert "default" in data["policies"]
    assert data["environment"] == "production"


def test_bad_flag_is_exit_2(gate: Callable[..., Result]) -> None:
    r = gate("check", "--change", "examples/change-pass.yaml", "--format", "yaml")
    assert r.code == 2
    assert r.err.startswith("gate: error: --format: 'yaml' is not one of 'text', 'json'")


def test_empty_override_reason_is_exit_2(gate: Callable[..., Result]) -> None:
    r = gate("check", "--change", "examples/change-pass.yaml", "--override", " ")
    assert (r.code, r.err) == (
        2,
        "gate: error: --override: needs a reason, e.g. --override 'INC-123: hotfix'\n",
    )


def test_color_only_when_asked(gate: Callable[..., Result]) -> None:
    r = gate("check", "--change", "examples/change-warn.yaml", NOW)
    assert "\x1b[" not in r.out  # not a TTY


def test_validate_and_schema(gate: Callable[..., Result]) -> None:
    r = gate("validate", "examples/change-pass.yaml", "policies/default.yaml")
    assert r.code == 0
    assert r.out == (
        "examples/change-pass.yaml: ok (change-request)\npolicies/default.yaml: ok (policy)\n"
    )
    r = gate("schema", "change-request")
    assert json.loads(r.out)["title"] == "gate change request"
    r = gate("schema", "nope")
    assert r.code == 2
    assert "unknown schema 'nope'" in r.err


def test_validate_reports_every_bad_file(gate: Callable[..., Result], tmp_path: Path) -> None:
    bad1 = tmp_path / "a.yaml"
    bad1.write_text("id: [\n")
    bad2 = tmp_path / "b.yaml"
    bad2.write_text("kind: Policy\napiVersion: gate/v1\nmetadata: {name: x}\nspec: {rulez: []}\n")
    r = gate("validate", str(bad1), "examples/change-pass.yaml", str(bad2))
    assert r.code == 2
    lines = r.err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"gate: error: {bad1}:")
    assert lines[1] == (
        f"gate: error: {bad2}:4: spec.rulez: unknown key 'rulez'; did you mean 'rules'?"
    )


def test_help_shows_examples(gate: Callable[..., Result]) -> None:
    for command in (
        [],
        ["check"],
        ["validate"],
        ["schema"],
        ["rollout"],
        ["status"],
        ["resume"],
        ["abort"],
        ["promote"],
        ["judge"],
        ["flags"],
        ["flags", "off"],
        ["flags", "on"],
        ["flags", "status"],
    ):
        r = gate(*command, "--help")
        assert r.code == 0
        assert "Example" in r.out, command


def test_version(gate: Callable[..., Result]) -> None:
    r = gate("--version")
    assert r.code == 0
    assert r.out.startswith("gate, version ")


def test_python_dash_m_and_exit_code_in_a_real_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gate", "check", "--change", "examples/change-block.yaml", NOW],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stdout.startswith("BLOCK  CHG-2003")


def test_under_github_actions(
    gate: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    r = gate("check", "--change", "examples/change-block.yaml", "-f", "json", NOW)
    assert r.code == 1
    assert json.loads(r.out)["decision"] == "block"  # stdout is the report and nothing else
    assert r.err.startswith(
        "::error file=examples/change-block.yaml,line=8,title=gate%3A rollback-plan::"
    )
    assert "## ⛔ gate check: **BLOCK**" in summary.read_text()
    assert outputs.read_text() == "decision=block\nrisk-score=100\nnext-allowed-at=\n"


def test_every_example_and_bundled_policy_is_valid(gate: Callable[..., Result]) -> None:
    files = sorted(
        str(p.relative_to(REPO))
        for pattern in ("examples/*.yaml", "examples/policies/*.yaml", "policies/*.yaml")
        for p in REPO.glob(pattern)
    )
    r = gate("validate", *files)
    assert r.code == 0, r.err
    assert len(r.out.splitlines()) == len(files) >= 9
