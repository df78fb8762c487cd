"""``gate check --format junit`` held against the JUnit XSDs its consumers accept.

JUnit XML has no single standard; the XSDs below are the ones its readers are built to
(kept under data/junit, see data/SOURCES.md):

- jenkinsci/xunit-plugin ``src/main/resources/org/jenkinsci/plugins/xunit/types/model/xsd/
  junit-10.xsd`` at 14c6e39c38408b9ed6280361484a13c6f5becca7 (the 2014–2018 text) and
  ``junit-9.xsd`` at 031e285ef3b60dee7aaf36e9096d7dcd95ffae83: ``testcase`` may carry
  ``file`` and ``line``. This is the dialect of pytest's ``xunit1`` family, and what GitLab's
  unit test reports and the GitHub test-report actions read a case's file and line from.
  gate writes this family.
- pytest-dev/pytest ``testing/example_scripts/junit-10.xsd`` at
  df87db7b0462fb764ef73fa00561adf8ad047572, the later junit-10 that pytest's ``xunit2``
  family is validated against: it has no ``file``/``line`` on ``testcase``. gate's output
  differs from it in exactly those two attributes.
"""

from __future__ import annotations

import copy
from xml.etree import ElementTree as ET

import pytest
import xmlschema

from tests.conformance.conftest import DATA, GateRunner

FILE_LINE_FAMILY = ["xunit-plugin-junit-10-2014.xsd", "xunit-plugin-junit-9.xsd"]
XUNIT2 = "pytest-xunit2-junit-10.xsd"


def _schema(name: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(DATA / "junit" / name))


@pytest.fixture
def reports(gate_check: GateRunner) -> dict[str, str]:
    """JUnit reports of a blocked, a warned and an allowed change, a warning under
    ``--fail-on warn``, and a run with bypassed rules."""
    runs = {
        "block": ("--change", "examples/change-block.yaml"),
        "warn": ("--change", "examples/change-warn.yaml"),
        "pass": ("--change", "examples/change-pass.yaml"),
        "warn-fail-on-warn": ("--change", "examples/change-warn.yaml", "--fail-on", "warn"),
        "override": ("--change", "examples/change-warn.yaml", "--override", "CAB-7"),
    }
    out = {}
    for name, args in runs.items():
        run = gate_check(*args, "--format", "junit")
        assert run.code in (0, 1), run.err
        out[name] = run.out
    return out


@pytest.mark.parametrize("xsd", FILE_LINE_FAMILY)
def test_valid_against_the_file_line_family(reports: dict[str, str], xsd: str) -> None:
    """jenkinsci/xunit-plugin junit-10.xsd (2014) and junit-9.xsd: every report validates,
    ``file`` and ``line`` on ``testcase`` included."""
    schema = _schema(xsd)
    for name, text in reports.items():
        errors = list(schema.iter_errors(text))
        assert not errors, (name, [str(e.reason) for e in errors[:3]])


def test_cases_keep_file_and_line(reports: dict[str, str]) -> None:
    """xunit1 dialect: a finding's case names the file and line it was found on."""
    root = ET.fromstring(reports["block"])
    [case] = root.findall("testcase[@name='rollback-plan']")
    assert (case.get("file"), case.get("line")) == ("examples/change-block.yaml", "8")


def test_the_xunit2_schema_rejects_only_file_and_line(reports: dict[str, str]) -> None:
    """pytest's junit-10.xsd (xunit2) declares no ``file``/``line`` on ``testcase``: gate's
    reports fail it for those attributes, and pass it once they are removed."""
    schema = _schema(XUNIT2)
    for name, text in reports.items():
        root = ET.fromstring(text)
        has_location = any(c.get("file") for c in root.iter("testcase"))
        reasons = " ".join(str(e.reason) for e in schema.iter_errors(text))
        if has_location:
            assert "'file' attribute not allowed" in reasons, name
        stripped = copy.deepcopy(root)
        for case in stripped.iter("testcase"):
            case.attrib.pop("file", None)
            case.attrib.pop("line", None)
        errors = list(schema.iter_errors(ET.tostring(stripped, "unicode")))
        assert not errors, (name, [str(e.reason) for e in errors[:3]])


def test_counts_agree_with_the_cases(reports: dict[str, str]) -> None:
    """testsuite ``tests``, ``failures``, ``errors`` and ``skipped`` (all in the XSDs) count the
    cases, their ``failure``, ``error`` and ``skipped`` children."""
    for text in reports.values():
        root = ET.fromstring(text)
        cases = root.findall("testcase")
        assert int(root.get("tests", "-1")) == len(cases)
        assert int(root.get("failures", "-1")) == len(root.findall("testcase/failure"))
        assert int(root.get("errors", "-1")) == len(root.findall("testcase/error"))
        assert int(root.get("skipped", "-1")) == len(root.findall("testcase/skipped"))


def test_failures_only_for_what_fails_the_run(reports: dict[str, str]) -> None:
    """A report with failures reads as a failed run to every consumer, so only what makes
    ``gate check`` exit 1 is a failure: warnings pass (with their finding in ``system-out``)
    unless ``--fail-on warn``."""
    failures = {name: int(ET.fromstring(t).get("failures", "-1")) for name, t in reports.items()}
    assert failures["pass"] == failures["warn"] == failures["override"] == 0
    assert failures["warn-fail-on-warn"] == 5  # four warnings and the decision
    assert failures["block"] == 4  # three block findings and the decision
    warn = ET.fromstring(reports["warn"])
    [case] = warn.findall("testcase[@name='weekend']")
    assert (case.findtext("system-out") or "").startswith("warning: scheduled on Friday")
