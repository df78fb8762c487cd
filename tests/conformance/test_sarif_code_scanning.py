"""``gate check --format sarif`` held against the SARIF 2.1.0 schema and GitHub code scanning.

Sources (kept under data/, see data/SOURCES.md):

- the SARIF 2.1.0 JSON schema, oasis-tcs/sarif-spec ``Schemata/sarif-schema-2.1.0.json`` at
  123e95847b13fbdd4cbe2120fa5e33355d4a042b (the copy GitHub's page links to), and the same
  file at ffa72eb4d4d7504ac43736489b0444aff7afdd74 (the OASIS Approved Errata 01 text);
- GitHub, "SARIF support for code scanning" (docs.github.com; github/docs
  ``content/code-security/code-scanning/integrating-with-code-scanning/
  sarif-support-for-code-scanning.md``) and its limits table
  (``data/reusables/code-scanning/sarif-limits.md``).

One test per requirement, named after it; each docstring quotes the rule it checks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import jsonschema
import pytest

from tests.conformance.conftest import DATA, REPO, GateRunner

EXAMPLES = ["examples/change-block.yaml", "examples/change-warn.yaml", "examples/change-pass.yaml"]


def _sarif(gate_check: GateRunner, *args: str) -> dict[str, Any]:
    run = gate_check(*args, "--format", "sarif")
    assert run.code in (0, 1), run.err
    doc: dict[str, Any] = json.loads(run.out)
    return doc


@pytest.fixture
def logs(gate_check: GateRunner) -> list[dict[str, Any]]:
    """SARIF logs of every example, of a run with bypassed rules, and of one in an
    environment (which adds ``automationDetails``)."""
    out = [_sarif(gate_check, "--change", change) for change in EXAMPLES]
    out.append(
        _sarif(gate_check, "--change", "examples/change-warn.yaml", "--override", "CAB-7: ok")
    )
    out.append(_sarif(gate_check, "--change", "examples/change-block.yaml", "--env", "production"))
    return out


def _rules(log: dict[str, Any]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = log["runs"][0]["tool"]["driver"]["rules"]
    return rules


def _results(log: dict[str, Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = log["runs"][0]["results"]
    return results


# ---- the SARIF 2.1.0 schema ------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema_file", "validator"),
    [
        ("sarif-schema-2.1.0.json", jsonschema.Draft202012Validator),
        ("sarif-schema-2.1.0-errata01.json", jsonschema.Draft4Validator),
    ],
)
def test_valid_against_the_sarif_2_1_0_schema(
    logs: list[dict[str, Any]], schema_file: str, validator: Any
) -> None:
    """oasis-tcs/sarif-spec Schemata/sarif-schema-2.1.0.json: every log gate writes is valid."""
    schema = json.loads((DATA / "sarif" / schema_file).read_text(encoding="utf-8"))
    if validator is jsonschema.Draft4Validator:
        validator.check_schema(schema)
    # The 2020-12 copy is not itself a valid 2020-12 schema (its region definition has an
    # "anyOf" nested under "properties", and run.language's pattern "^(?i)..." is not a
    # Python regex), so it is used as published, without a meta-schema check; neither defect
    # touches what gate writes.
    checker = validator(schema, format_checker=validator.FORMAT_CHECKER)
    for log in logs:
        errors = sorted(checker.iter_errors(log), key=lambda e: list(e.absolute_path))
        assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def test_the_schema_rejects_what_it_should() -> None:
    """The validator is live: a result without a message breaks the 2.1.0 schema."""
    schema = json.loads((DATA / "sarif" / "sarif-schema-2.1.0.json").read_text("utf-8"))
    broken = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{}]}]}
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(broken))


# ---- GitHub: sarifLog, run and toolComponent ------------------------------------------


def test_sarif_log_has_schema_version_and_runs(logs: list[dict[str, Any]]) -> None:
    """sarifLog: ``$schema`` (required, e.g. https://json.schemastore.org/sarif-2.1.0.json),
    ``version`` (code scanning only supports 2.1.0), ``runs[]`` (one or more)."""
    for log in logs:
        assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
        assert log["version"] == "2.1.0"
        assert len(log["runs"]) >= 1


def test_one_run_per_file_and_within_the_limits(logs: list[dict[str, Any]]) -> None:
    """ "Each run can only have results for one analysis tool"; limits: runs per file 20,
    results per run 25,000, rules per run 25,000, tags per rule 20 (10 shown)."""
    for log in logs:
        assert len(log["runs"]) == 1 <= 20
        assert len(_results(log)) <= 25_000
        assert len(_rules(log)) <= 25_000
        for rule in _rules(log):
            assert len(rule["properties"]["tags"]) <= 10


def test_tool_driver_names_the_tool_and_lists_rules(logs: list[dict[str, Any]]) -> None:
    """toolComponent: ``name`` required; ``rules[]`` required; ``semanticVersion`` in the
    Semantic Versioning 2.0 format when given."""
    for log in logs:
        driver = log["runs"][0]["tool"]["driver"]
        assert driver["name"] == "gate"
        assert isinstance(driver["rules"], list)
        assert re.fullmatch(
            r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?", driver["semanticVersion"]
        )


def test_results_present_even_when_empty(logs: list[dict[str, Any]]) -> None:
    """run: ``results[]`` is required, so an allowed change still writes ``[]``."""
    allowed = logs[2]
    assert allowed["runs"][0]["results"] == []


# ---- GitHub: reportingDescriptor -------------------------------------------------------


def test_every_rule_has_id_short_and_full_description_and_help(
    logs: list[dict[str, Any]],
) -> None:
    """reportingDescriptor: ``id``, ``shortDescription.text``, ``fullDescription.text`` and
    ``help.text`` are required — and "the empty string is not supported for required
    properties"; short and full description are limited to 1024 characters."""
    rules = [rule for log in logs for rule in _rules(log)]
    assert rules
    for rule in rules:
        assert rule["id"].strip()
        for key in ("shortDescription", "fullDescription", "help"):
            text = rule[key]["text"]
            assert text.strip(), (rule["id"], key)
        assert len(rule["shortDescription"]["text"]) <= 1024
        assert len(rule["fullDescription"]["text"]) <= 1024


def test_rule_name_level_precision_and_severity(logs: list[dict[str, Any]]) -> None:
    """reportingDescriptor: ``name`` limited to 255 characters; ``defaultConfiguration.level``
    one of note, warning, error; ``properties.precision`` one of very-high, high, medium, low;
    ``properties.problem.severity`` one of error, warning, recommendation."""
    for log in logs:
        for rule in _rules(log):
            assert 0 < len(rule["name"]) <= 255
            assert rule["defaultConfiguration"]["level"] in {"note", "warning", "error"}
            assert rule["properties"]["precision"] in {"very-high", "high", "medium", "low"}
            assert rule["properties"]["problem.severity"] in {"error", "warning", "recommendation"}


# ---- GitHub: result --------------------------------------------------------------------


def test_every_result_has_a_message_and_names_its_rule(logs: list[dict[str, Any]]) -> None:
    """result: ``message.text`` required; ``ruleId`` is the rule's ``reportingDescriptor.id``;
    ``ruleIndex`` its index in ``rules`` (0 to 2^63 - 1)."""
    for log in logs:
        rules = _rules(log)
        for result in _results(log):
            assert result["message"]["text"].strip()
            assert 0 <= result["ruleIndex"] < len(rules)
            assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
            assert result["level"] in {"none", "note", "warning", "error"}


def test_every_result_has_one_location(logs: list[dict[str, Any]]) -> None:
    """result: ``locations[]`` required, at most 10; "at least one location is required for
    code scanning to display a result"; "only the first value of this array is used", so
    gate writes exactly one."""
    results = [r for log in logs for r in _results(log)]
    assert results
    for result in results:
        assert len(result["locations"]) == 1
        assert "physicalLocation" in result["locations"][0]


def test_every_result_has_a_primary_location_line_hash(logs: list[dict[str, Any]]) -> None:
    """result: ``partialFingerprints`` required; "code scanning only uses the
    ``primaryLocationLineHash``" (GitHub's examples have the form ``<hex>:<n>``)."""
    for log in logs:
        for result in _results(log):
            value = result["partialFingerprints"]["primaryLocationLineHash"]
            assert re.fullmatch(r"[0-9a-f]{16}:[1-9][0-9]*", value), value


def test_fingerprints_are_stable_across_runs(gate_check: GateRunner) -> None:
    """ "The ruleID for a result has to be the same across analysis" and fingerprints let code
    scanning match results across runs: two runs on the same input agree."""
    first = _sarif(gate_check, "--change", "examples/change-block.yaml")
    second = _sarif(gate_check, "--change", "examples/change-block.yaml")
    assert [(r["ruleId"], r["partialFingerprints"]) for r in _results(first)] == [
        (r["ruleId"], r["partialFingerprints"]) for r in _results(second)
    ]


# ---- GitHub: physicalLocation and paths ------------------------------------------------


def test_every_region_has_start_and_end_line_and_column(logs: list[dict[str, Any]]) -> None:
    """physicalLocation: ``artifactLocation.uri``, ``region.startLine``,
    ``region.startColumn``, ``region.endLine`` and ``region.endColumn`` are all marked
    required; the end column is "the column number of the character following the end of the
    region", so it lies past the start."""
    for log in logs:
        for result in _results(log):
            physical = result["locations"][0]["physicalLocation"]
            assert physical["artifactLocation"]["uri"]
            region = physical["region"]
            assert 1 <= region["startLine"] <= region["endLine"]
            assert 1 <= region["startColumn"] < region["endColumn"]


def test_the_region_covers_the_offending_line(gate_check: GateRunner) -> None:
    """ "The location allows GitHub to show annotations in your code file": the region is the
    text of the line the finding names, without its indentation."""
    log = _sarif(gate_check, "--change", "examples/change-block.yaml")
    lines = (REPO / "examples/change-block.yaml").read_text("utf-8").splitlines()
    for result in _results(log):
        region = result["locations"][0]["physicalLocation"]["region"]
        line = lines[region["startLine"] - 1]
        covered = line[region["startColumn"] - 1 : region["endColumn"] - 1]
        assert covered == line.strip()


def test_uris_are_relative_to_the_repository_root(logs: list[dict[str, Any]]) -> None:
    """physicalLocation.artifactLocation.uri: "we recommend that this is a relative path from
    the root of the GitHub repository being analyzed. For example, src/main.js." — and the
    relative URI names the repository file."""
    for log in logs:
        for result in _results(log):
            uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            assert not urlparse(uri).scheme, uri
            assert not uri.startswith("/")
            assert (REPO / unquote(uri)).is_file()


def test_relative_uris_name_a_base_that_original_uri_base_ids_defines(
    logs: list[dict[str, Any]],
) -> None:
    """ "Relative URI Guidance for SARIF Producers": a relative ``uri`` carries a ``uriBaseId``
    that ``run.originalUriBaseIds`` defines; a base URI is absolute and ends with ``/``
    (SARIF 2.1.0 §3.14.14, as GitHub's example ``file:///C:/Users/Mary/code/TheProject/``)."""
    for log in logs:
        run = log["runs"][0]
        bases = run["originalUriBaseIds"]
        for result in run["results"]:
            artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
            base = bases[artifact["uriBaseId"]]["uri"]
            assert urlparse(base).scheme == "file"
            assert base.endswith("/")
            assert Path(unquote(urlparse(base).path)) == REPO


def test_an_absolute_change_path_is_written_relative(gate_check: GateRunner) -> None:
    """ "Specifying the root for source files": code scanning "interprets results that are
    reported with relative paths as relative to the root of the repository analyzed". An
    absolute ``--change`` path inside the repository is written relative to it."""
    log = _sarif(gate_check, "--change", str(REPO / "examples/change-block.yaml"))
    for result in _results(log):
        artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact == {"uri": "examples/change-block.yaml", "uriBaseId": "%SRCROOT%"}


def test_paths_are_relative_to_github_workspace(
    gate_check: GateRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """In GitHub Actions the analysed repository is ``GITHUB_WORKSPACE`` (``checkout_path``
    defaults to it): a change file under it is written relative to it."""
    (tmp_path / "changes").mkdir()
    change = tmp_path / "changes" / "CHG-1.yaml"
    change.write_text((REPO / "examples/change-block.yaml").read_text("utf-8"), "utf-8")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    log = _sarif(gate_check, "--change", str(change))
    run = log["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in _results(log)}
    assert uris == {"changes/CHG-1.yaml"}


def test_symlinks_are_resolved(
    gate_check: GateRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """ "Resolving symlinks before generating SARIF results": "if the relative URI for a result
    is matched against a file defined using a symlink, code scanning is unable to display the
    result", so results name the resolved file."""
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "c.yaml").write_text(
        (REPO / "examples/change-block.yaml").read_text("utf-8"), "utf-8"
    )
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    log = _sarif(gate_check, "--change", str(tmp_path / "link" / "c.yaml"))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in _results(log)}
    assert uris == {"real/c.yaml"}


# ---- GitHub: runAutomationDetails, suppressions ----------------------------------------


def test_automation_details_id_is_a_category(logs: list[dict[str, Any]]) -> None:
    """runAutomationDetails: "``id`` is interpreted as ``category/run-id``"; an id ending in
    ``/`` names a category and no run id. gate uses the environment as the category, so
    uploads for two environments do not overwrite each other."""
    production = logs[4]["runs"][0]
    assert production["automationDetails"] == {"id": "gate/production/"}
    assert all("automationDetails" not in log["runs"][0] for log in logs[:4])


def test_bypassed_rules_are_suppressed_results(logs: list[dict[str, Any]]) -> None:
    """SARIF 2.1.0 §3.27.23 / §3.35: a result the user chose to accept carries
    ``suppressions`` (``kind`` inSource or external, ``status`` accepted, a
    ``justification``); the bypass is on the result it bypasses, with its location."""
    overridden = _results(logs[3])
    suppressed = [r for r in overridden if "suppressions" in r]
    assert {r["ruleId"] for r in suppressed} == {"maintenance-window", "weekend", "business-hours"}
    for result in suppressed:
        [suppression] = result["suppressions"]
        assert suppression == {
            "kind": "external",
            "status": "accepted",
            "justification": "override: CAB-7: ok",
        }
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "examples/change-warn.yaml"
    assert all("suppressions" not in r for log in logs[:3] for r in _results(log))
