"""Renderers: JUnit, SARIF, GitHub annotations, Markdown and the GitHub Actions publisher."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
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
from gate.report import FORMATS, RenderOptions, render
from gate.report.actions import mask, output_lines, publish
from gate.report.locations import SourceFiles, repository_root
from tests.cli.conftest import assert_golden

# a repository that does not exist on disk: renderers must not depend on where tests run
FIXED = RenderOptions(root=Path("/srv/repo"), cwd=Path("/srv/repo"))


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
WEEKEND = Finding(
    rule="weekend",
    severity=Severity.WARN,
    message="scheduled on a Saturday",
    remediation="move it",
    location=SourceLocation("c.yaml", 7),
    policy="default",
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
    bypasses=(Bypass("weekend", "emergency change", "INC-1: checkout down", WEEKEND),),
    checks=(CheckTiming("github", 0.25, "pass"),),
    next_allowed_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
)
WARN_ONLY = Evaluation(
    decision=Decision.WARN,
    risk_score=15,
    findings=(WEEKEND, finding(1, Severity.INFO)),
    change_file="c.yaml",
    change_id="CHG-11",
)


def sarif(evaluation: Evaluation, options: RenderOptions = FIXED) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render(evaluation, "sarif", options))
    return doc


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("name", ["many", "tricky"])
def test_golden(fmt: str, name: str) -> None:
    evaluation = {"many": MANY, "tricky": TRICKY}[name]
    assert_golden(f"report/{name}.{fmt}", render(evaluation, fmt, FIXED))


def test_github_annotations_are_capped_at_ten_per_level() -> None:
    lines = render(MANY, "github", FIXED).splitlines()
    assert sum(line.startswith("::error ") for line in lines) == 10
    assert sum(line.startswith("::warning ") for line in lines) == 10
    assert "2 more errors and 1 more warning not shown" in "\n".join(lines)


def test_github_escaping() -> None:
    first = render(TRICKY, "github", FIXED).splitlines()[0]
    assert first.startswith("::warning file=dir%2C x/c%3A1.yaml,line=3,title=gate%3A odd::")
    assert "100%25 sure: a, b%0Anext line" in first
    assert "\n" not in first


def test_annotation_paths_are_relative_to_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    absolute = Evaluation(
        decision=Decision.WARN,
        risk_score=0,
        findings=(
            Finding("a", Severity.WARN, "m", location=SourceLocation(str(tmp_path / "x.yaml"))),
            Finding("b", Severity.WARN, "m", location=SourceLocation("../y.yaml", 2)),
        ),
        change_file="x.yaml",
    )
    options = RenderOptions(root=tmp_path, cwd=tmp_path / "sub")
    lines = render(absolute, "github", options).splitlines()
    assert lines[0].startswith("::warning file=x.yaml,title=")
    assert lines[1].startswith("::warning file=y.yaml,line=2,title=")


# ---- JUnit -----------------------------------------------------------------------------


def junit(evaluation: Evaluation, fail_on: Decision = Decision.BLOCK) -> ET.Element:
    options = RenderOptions(root=FIXED.root, cwd=FIXED.cwd, fail_on=fail_on)
    return ET.fromstring(render(evaluation, "junit", options))


def test_junit_counts_match_the_cases() -> None:
    root = junit(MANY)
    assert root.tag == "testsuite"
    assert int(root.get("tests", "0")) == len(root.findall("testcase")) == 25
    # 12 block findings and the decision; the 11 warnings and the audit finding pass
    assert int(root.get("failures", "0")) == len(root.findall("testcase/failure")) == 13
    assert int(root.get("skipped", "0")) == len(root.findall("testcase/skipped")) == 0
    tricky = junit(TRICKY)
    [odd] = tricky.findall("testcase[@name='odd']")
    assert "<tag> &" in (odd.findtext("system-out") or "")


def test_junit_warnings_pass_and_carry_their_finding_unless_fail_on_warn() -> None:
    passing = junit(WARN_ONLY)
    assert passing.get("failures") == "0"
    [case] = [c for c in passing.findall("testcase") if c.get("name") == "weekend"]
    assert case.find("failure") is None
    assert case.findtext("system-out") == "warning: scheduled on a Saturday\nfix: move it"
    assert (case.get("file"), case.get("line")) == ("c.yaml", "7")

    failing = junit(WARN_ONLY, fail_on=Decision.WARN)
    assert failing.get("failures") == "2"  # the warning and the decision
    [case] = [c for c in failing.findall("testcase") if c.get("name") == "weekend"]
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "warn"
    [decision] = [c for c in failing.findall("testcase") if c.get("name") == "decision"]
    assert decision.find("failure") is not None


def test_junit_audit_findings_pass_and_bypasses_are_skipped() -> None:
    root = junit(WARN_ONLY, fail_on=Decision.WARN)
    [audit] = [c for c in root.findall("testcase") if c.get("name") == "rule-1"]
    assert audit.find("failure") is None
    assert (audit.findtext("system-out") or "").startswith("audit: m")
    tricky = junit(TRICKY)
    [bypass] = tricky.findall("testcase[@classname='gate.bypass']")
    skipped = bypass.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "bypassed (emergency change): INC-1: checkout down"
    assert bypass.get("file") == "c.yaml"


# ---- SARIF -----------------------------------------------------------------------------


def test_sarif_rules_have_full_descriptions_and_help() -> None:
    [run] = sarif(TRICKY)["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["odd", "nowhere", "weekend"]
    for rule in rules:
        for key in ("shortDescription", "fullDescription", "help"):
            assert rule[key]["text"].strip(), (rule["id"], key)
            assert len(rule[key]["text"]) <= 1024 or key == "help"


def test_sarif_locations_are_relative_and_placed_on_the_line(tmp_path: Path) -> None:
    (tmp_path / "changes").mkdir()
    change = tmp_path / "changes" / "c.yaml"
    change.write_text("id: CHG-1\n  rollbackPlan: short   \n", encoding="utf-8")
    evaluation = Evaluation(
        decision=Decision.BLOCK,
        risk_score=30,
        findings=(
            Finding(
                "rollback-plan",
                Severity.BLOCK,
                "too short",
                location=SourceLocation(str(change), 2),
            ),
        ),
        change_file=str(change),
    )
    [run] = sarif(evaluation, RenderOptions(root=tmp_path, cwd=Path("/")))["runs"]
    [result] = run["results"]
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "changes/c.yaml", "uriBaseId": "%SRCROOT%"}
    assert physical["region"] == {"startLine": 2, "startColumn": 3, "endLine": 2, "endColumn": 22}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"


def test_sarif_uris_are_percent_encoded() -> None:
    [run] = sarif(TRICKY)["runs"]
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "dir%2C%20x/c%3A1.yaml"  # "c:1.yaml" must not read as a URI scheme


def test_sarif_finding_outside_the_repository_is_placed_on_the_change(tmp_path: Path) -> None:
    evaluation = Evaluation(
        decision=Decision.BLOCK,
        risk_score=80,
        findings=(
            Finding(
                "risk-threshold",
                Severity.BLOCK,
                "risk score 80",
                location=SourceLocation("/usr/lib/gate/policies/default.yaml", 12),
            ),
        ),
        change_file="change.yaml",
    )
    [run] = sarif(evaluation, RenderOptions(root=tmp_path, cwd=tmp_path))["runs"]
    [result] = run["results"]
    primary = result["locations"][0]["physicalLocation"]
    assert primary["artifactLocation"] == {"uri": "change.yaml", "uriBaseId": "%SRCROOT%"}
    assert primary["region"]["startLine"] == 1
    related = result["relatedLocations"][0]["physicalLocation"]
    assert related["artifactLocation"] == {"uri": "file:///usr/lib/gate/policies/default.yaml"}
    assert related["region"]["startLine"] == 12


def test_sarif_fingerprints_follow_the_line_not_its_number(tmp_path: Path) -> None:
    change = tmp_path / "c.yaml"

    def fingerprint(text: str, line: int) -> str:
        change.write_text(text, encoding="utf-8")
        evaluation = Evaluation(
            decision=Decision.WARN,
            risk_score=0,
            findings=(Finding("w", Severity.WARN, "m", location=SourceLocation("c.yaml", line)),),
            change_file="c.yaml",
        )
        [run] = sarif(evaluation, RenderOptions(root=tmp_path, cwd=tmp_path))["runs"]
        value: str = run["results"][0]["partialFingerprints"]["primaryLocationLineHash"]
        return value

    before = fingerprint("a: 1\nb: 2\n", 2)
    assert before == fingerprint("# new comment\na: 1\nb: 2\n", 3)  # moved down one line
    assert before != fingerprint("a: 1\nb: 3\n", 2)  # the line itself changed
    assert before.endswith(":1")


def test_sarif_repeated_results_on_one_line_get_distinct_fingerprints() -> None:
    [run] = sarif(MANY)["runs"]
    hashes = [r["partialFingerprints"]["primaryLocationLineHash"] for r in run["results"]]
    assert len(set(hashes)) == len(hashes)


def test_sarif_bypass_is_a_suppressed_result() -> None:
    [run] = sarif(TRICKY)["runs"]
    [suppressed] = [r for r in run["results"] if "suppressions" in r]
    assert suppressed["ruleId"] == "weekend"
    assert suppressed["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    assert suppressed["suppressions"] == [
        {
            "kind": "inSource",
            "status": "accepted",
            "justification": "emergency change: INC-1: checkout down",
        }
    ]
    assert run["properties"]["bypasses"][0]["justification"] == "INC-1: checkout down"


def test_sarif_override_is_an_external_suppression() -> None:
    override = Evaluation(
        decision=Decision.ALLOW,
        risk_score=0,
        findings=(),
        change_file="c.yaml",
        bypasses=(Bypass("weekend", "override", "CAB-7 approved", WEEKEND),),
    )
    [run] = sarif(override)["runs"]
    [result] = run["results"]
    assert result["suppressions"][0]["kind"] == "external"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_bypasses_appear_in_every_format(fmt: str) -> None:
    assert "INC-1: checkout down" in render(TRICKY, fmt, FIXED)


# ---- GitHub Actions --------------------------------------------------------------------


def test_publish_writes_summary_and_outputs(tmp_path: Path) -> None:
    summary, outputs = tmp_path / "summary.md", tmp_path / "out"
    summary.write_text("earlier step\n")
    lines = publish(TRICKY, {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)})
    assert lines[0].startswith("::warning ")
    assert summary.read_text().startswith("earlier step\n## ⚠️ gate check: **WARN**")
    assert outputs.read_text() == (
        "decision=warn\nrisk-score=5\nnext-allowed-at=2026-11-30T09:00:00+00:00\n"
    )


def test_publish_without_annotations_when_the_report_is_annotations(tmp_path: Path) -> None:
    outputs = tmp_path / "out"
    assert publish(TRICKY, {"GITHUB_OUTPUT": str(outputs)}, annotations=False) == []
    assert outputs.read_text().startswith("decision=warn\n")


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


def test_secrets_read_are_masked_under_github_actions() -> None:
    from gate.report.actions import mask_lines
    from gate.secrets import SecretRef, forget_all, reveal

    forget_all()
    env = {"GITHUB_ACTIONS": "true"}
    assert mask_lines(env) == []
    import os

    os.environ["GATE_TEST_SECRET"] = "u-1234"
    try:
        reveal(SecretRef("GATE_TEST_SECRET"))
        lines = mask_lines(env)
        assert "::add-mask::u-1234" in lines
        assert "::add-mask::dS0xMjM0" in lines  # its Base64, as servers echo Basic auth
        assert mask_lines({"GITHUB_ACTIONS": "false"}) == []
    finally:
        del os.environ["GATE_TEST_SECRET"]
        forget_all()


def test_repository_root_prefers_github_workspace_then_git_then_cwd(tmp_path: Path) -> None:
    repo, workspace = tmp_path / "repo", tmp_path / "ws"
    (repo / ".git").mkdir(parents=True)
    (repo / "a" / "b").mkdir(parents=True)
    workspace.mkdir()
    assert repository_root({}, repo / "a" / "b") == repo
    assert repository_root({"GITHUB_WORKSPACE": str(workspace)}, repo / "a") == workspace
    assert repository_root({"GITHUB_WORKSPACE": str(tmp_path / "gone")}, repo) == repo
    assert repository_root({}, workspace) == workspace  # no .git above tmp_path


def test_source_files_resolve_symlinks(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "c.yaml").write_text("x: 1\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    files = SourceFiles(root=tmp_path, cwd=tmp_path)
    assert files.relative("link/c.yaml") == "real/c.yaml"
    assert files.relative("/elsewhere/c.yaml") is None
    assert files.line("link/c.yaml", 1) == "x: 1"
    assert files.line("link/c.yaml", 2) is None
