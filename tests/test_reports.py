"""Renderers: JUnit, SARIF, GitHub annotations, Markdown and the GitHub Actions publisher."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from gate.policy.result import (
    Bypass,
    CheckTiming,
    Decision,
    Evaluation,
    Finding,
    Severity,
    SourceLocation,
)
from gate.report import FORMATS, render
from gate.report.actions import mask, output_lines, publish
from tests.cli.conftest import assert_golden


def finding(i: int, severity: Severity, message: str = "m") -> Finding:
    return Finding(
        rule=f"rule-{i}",
        severity=severity,
        message=message,
        remediation="do x",
        location=SourceLocation("c.yaml", i + 1),
        risk_points=1,
        policy="p",
    )


MANY = Evaluation(
    decision=Decision.BLOCK,
    risk_score=24,
    findings=tuple(finding(i, Severity.BLOCK) for i in range(12))
    + tuple(finding(100 + i, Severity.WARN) for i in range(11))
    + (finding(200, Severity.INFO),),
    change_file="c.yaml",
    change_id="CHG-9",
)
TRICKY = Evaluation(
    decision=Decision.WARN,
    risk_score=5,
    findings=(
        Finding(
            rule="odd",
            severity=Severity.WARN,
            message='100% sure: a, b\nnext line <tag> & "q" | pipe ünï',
            remediation="fix | it",
            location=SourceLocation("dir, x/c:1.yaml", 3),
        ),
        Finding(rule="nowhere", severity=Severity.WARN, message="no location"),
    ),
    change_file="c.yaml",
    change_id="CHG-10",
    bypasses=(Bypass("weekend", "emergency change", "INC-1: checkout down"),),
    checks=(CheckTiming("github", 0.25, "pass"),),
    next_allowed_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("name", ["many", "tricky"])
def test_golden(fmt: str, name: str) -> None:
    evaluation = {"many": MANY, "tricky": TRICKY}[name]
    assert_golden(f"report/{name}.{fmt}", render(evaluation, fmt))


def test_github_annotations_are_capped_at_ten_per_level() -> None:
    lines = render(MANY, "github").splitlines()
    assert sum(line.startswith("::error ") for line in lines) == 10
    assert sum(line.startswith("::warning ") for line in lines) == 10
    assert "2 more errors and 1 more warning not shown" in "\n".join(lines)


def test_github_escaping() -> None:
    first = render(TRICKY, "github").splitlines()[0]
    assert first.startswith("::warning file=dir%2C x/c%3A1.yaml,line=3,title=gate%3A odd::")
    assert "100%25 sure: a, b%0Anext line" in first
    assert "\n" not in first


def test_junit_is_valid_xml_with_matching_counts() -> None:
    root = ET.fromstring(render(MANY, "junit"))
    assert root.tag == "testsuite"
    assert int(root.get("tests", "0")) == len(root.findall("testcase")) == 25
    assert int(root.get("failures", "0")) == len(root.findall("testcase/failure")) == 24
    assert int(root.get("skipped", "0")) == len(root.findall("testcase/skipped")) == 1
    tricky = ET.fromstring(render(TRICKY, "junit"))
    assert "<tag> &" in (tricky.find("testcase/failure").text or "")  # type: ignore[union-attr]


def test_sarif_structure() -> None:
    doc = json.loads(render(TRICKY, "sarif"))
    assert doc["version"] == "2.1.0"
    [run] = doc["runs"]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rules == ["odd", "nowhere"]
    first, second = run["results"]
    assert first["level"] == "warning"
    assert first["ruleIndex"] == 0
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "dir, x/c:1.yaml"},
        "region": {"startLine": 3},
    }
    assert "locations" not in second
    assert run["properties"]["bypasses"][0]["justification"] == "INC-1: checkout down"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_bypasses_appear_in_every_format(fmt: str) -> None:
    assert "INC-1: checkout down" in render(TRICKY, fmt)


def test_publish_writes_summary_and_outputs(tmp_path: Path) -> None:
    summary, outputs = tmp_path / "summary.md", tmp_path / "out"
    summary.write_text("earlier step\n")
    lines = publish(TRICKY, {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)})
    assert lines[0].startswith("::warning ")
    assert summary.read_text().startswith("earlier step\n## ⚠️ gate check: **WARN**")
    assert outputs.read_text() == (
        "decision=warn\nrisk-score=5\nnext-allowed-at=2026-11-30T09:00:00+00:00\n"
    )


def test_publish_survives_unwritable_files(tmp_path: Path) -> None:
    lines = publish(
        TRICKY,
        {
            "GITHUB_STEP_SUMMARY": str(tmp_path / "no" / "such" / "file"),
            "GITHUB_OUTPUT": str(tmp_path),
        },
    )
    warnings = [line for line in lines if line.startswith("::warning title=gate::cannot write")]
    assert len(warnings) == 2


def test_multiline_output_uses_a_delimiter() -> None:
    text = output_lines({"a": "1", "b": "x\ny"})
    head, rest = text.split("\n", 1)
    assert head == "a=1"
    assert rest.startswith("b<<gate_")
    delimiter = rest.split("\n", 1)[0].removeprefix("b<<")
    assert rest == f"b<<{delimiter}\nx\ny\n{delimiter}\n"


def test_mask() -> None:
    assert mask("s3cr%t") == "::add-mask::s3cr%25t"


def test_secrets_named_by_a_spec_are_masked_under_github_actions() -> None:
    from gate.report.actions import mask_lines, secret_names

    spec = {
        "spec": {
            "onFailure": {"flags": [{"tokenEnv": "UNLEASH_TOKEN"}]},
            "notifications": [{"urlEnv": "SLACK_URL"}, {"secretEnv": "HOOK_SECRET"}],
            "metrics": {"headersEnv": {"Authorization": "PROM_AUTH"}},
        }
    }
    names = secret_names(spec)
    assert names == {"UNLEASH_TOKEN", "SLACK_URL", "HOOK_SECRET", "PROM_AUTH"}
    env = {"GITHUB_ACTIONS": "true", "UNLEASH_TOKEN": "u-1", "SLACK_URL": "https://x/y"}
    assert mask_lines(env, names) == ["::add-mask::https://x/y", "::add-mask::u-1"]
    assert mask_lines({**env, "GITHUB_ACTIONS": "false"}, names) == []
