"""``--format junit``: one test case per rule that raised a finding, plus one for the decision."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from gate.policy.result import Evaluation, Severity


def render(evaluation: Evaluation, *, color: bool = False) -> str:
    e = evaluation
    suite = ET.Element("testsuite", name=f"gate check {e.change_id}".strip())
    failures = skipped = 0
    decision = ET.SubElement(suite, "testcase", classname="gate.decision", name="decision")
    if e.decision.value == "block":
        failures += 1
        ET.SubElement(
            decision,
            "failure",
            message=f"decision: block (risk score {e.risk_score})",
            type="block",
        )
    for f in e.findings:
        case = ET.SubElement(
            suite, "testcase", classname=f"gate.{f.policy or 'policy'}", name=f.rule
        )
        if f.location is not None:
            case.set("file", f.location.file)
            if f.location.line is not None:
                case.set("line", str(f.location.line))
        body = f.message + (f"\nfix: {f.remediation}" if f.remediation else "")
        if f.severity is Severity.INFO:
            skipped += 1
            ET.SubElement(case, "skipped", message=f"audit: {f.message}")
        else:
            failures += 1
            node = ET.SubElement(case, "failure", message=f.message, type=f.severity.value)
            node.text = body
    for b in e.bypasses:
        skipped += 1
        case = ET.SubElement(suite, "testcase", classname="gate.bypass", name=b.rule)
        ET.SubElement(case, "skipped", message=f"bypassed ({b.reason}): {b.justification}")
    for c in e.checks:
        case = ET.SubElement(
            suite, "testcase", classname="gate.check", name=c.name, time=f"{c.seconds:.3f}"
        )
        if c.outcome == "skipped":
            skipped += 1
            ET.SubElement(case, "skipped", message=c.detail or "skipped")
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, "unicode") + "\n"
