"""``--format junit``: one test case per finding, per bypassed rule and per live check, plus
one for the decision.

A failure is only what fails the run: a block finding always, a warning only under
``--fail-on warn``. Otherwise a warning is a passing test case that carries its finding in
``system-out``, so a run that exits 0 reports no failures. Audit findings pass the same way;
bypassed rules and live checks that did not run are skipped.

The dialect is the one with ``file`` and ``line`` on ``testcase`` that pytest writes as
``xunit1`` and that GitLab and the GitHub test-report actions read to place a case on a
file: it validates against Jenkins xUnit's ``junit-10.xsd`` as published from 2014 to 2018
(and ``junit-9.xsd``). The later ``junit-10.xsd`` that pytest's ``xunit2`` follows has no
``file``/``line``; everything else gate writes validates against it too.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from gate.policy.result import Decision, Evaluation, Finding, Severity
from gate.report import RenderOptions
from gate.report.locations import SourceFiles

# characters XML 1.0 cannot hold at all (not even as &#x1b;): shown as text, \x1b
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _body(f: Finding) -> str:
    return f.message + (f"\nfix: {f.remediation}" if f.remediation else "")


def render(evaluation: Evaluation, options: RenderOptions | None = None) -> str:
    options = options or RenderOptions()
    e = evaluation
    files = SourceFiles(options.root, options.cwd)
    suite = ET.Element("testsuite", name=f"gate check {e.change_id}".strip())
    failures = skipped = 0

    decision = ET.SubElement(suite, "testcase", classname="gate.decision", name="decision")
    summary = f"decision: {e.decision.value} (risk score {e.risk_score})"
    if options.fails(e.decision):
        failures += 1
        ET.SubElement(decision, "failure", message=summary, type=e.decision.value)
    else:
        ET.SubElement(decision, "system-out").text = summary

    for f in e.findings:
        case = ET.SubElement(
            suite, "testcase", classname=f"gate.{f.policy or 'policy'}", name=f.rule
        )
        if f.location is not None:
            case.set("file", files.display(f.location.file))
            if f.location.line is not None:
                case.set("line", str(f.location.line))
        fails = f.severity is Severity.BLOCK or (
            f.severity is Severity.WARN and options.fail_on is Decision.WARN
        )
        if fails:
            failures += 1
            node = ET.SubElement(case, "failure", message=f.message, type=f.severity.value)
            node.text = _body(f)
        else:
            label = "warning" if f.severity is Severity.WARN else "audit"
            ET.SubElement(case, "system-out").text = f"{label}: {_body(f)}"

    for b in e.bypasses:
        skipped += 1
        case = ET.SubElement(suite, "testcase", classname="gate.bypass", name=b.rule)
        if b.finding is not None and b.finding.location is not None:
            case.set("file", files.display(b.finding.location.file))
            if b.finding.location.line is not None:
                case.set("line", str(b.finding.location.line))
        ET.SubElement(case, "skipped", message=f"bypassed ({b.reason}): {b.justification}")

    for c in e.checks:
        case = ET.SubElement(
            suite, "testcase", classname="gate.check", name=c.name, time=f"{c.seconds:.3f}"
        )
        if c.outcome == "skipped":
            skipped += 1
            ET.SubElement(case, "skipped", message=c.detail or "skipped")
        elif c.detail:
            ET.SubElement(case, "system-out").text = f"{c.outcome}: {c.detail}"

    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    if e.evaluated_at is not None:
        suite.set("timestamp", e.evaluated_at.isoformat())
    ET.indent(suite)
    text = ET.tostring(suite, "unicode")
    text = _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"
