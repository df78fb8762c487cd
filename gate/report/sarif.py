"""``--format sarif``: SARIF 2.1.0, for code scanning."""

from __future__ import annotations

import json
from typing import Any

from gate import __version__
from gate.policy.result import Evaluation, Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {Severity.BLOCK: "error", Severity.WARN: "warning", Severity.INFO: "note"}


def render(evaluation: Evaluation, *, color: bool = False) -> str:
    e = evaluation
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    for f in e.findings:
        if f.rule not in rules:
            rules[f.rule] = {
                "id": f.rule,
                "shortDescription": {"text": f.rule},
                "help": {"text": f.remediation or f.message},
                "properties": {"policy": f.policy},
            }
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": list(rules).index(f.rule),
            "level": LEVEL[f.severity],
            "message": {"text": f.message + (f" Fix: {f.remediation}" if f.remediation else "")},
            "properties": {"riskPoints": f.risk_points, "severity": f.severity.value},
        }
        if f.location is not None:
            physical: dict[str, Any] = {"artifactLocation": {"uri": f.location.file}}
            if f.location.line is not None:
                physical["region"] = {"startLine": f.location.line}
            result["locations"] = [{"physicalLocation": physical}]
        results.append(result)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "gate",
                "version": __version__,
                "rules": list(rules.values()),
            }
        },
        "results": results,
        "properties": {
            "decision": e.decision.value,
            "riskScore": e.risk_score,
            "nextAllowedAt": e.next_allowed_at.isoformat() if e.next_allowed_at else None,
            "bypasses": [
                {"rule": b.rule, "reason": b.reason, "justification": b.justification}
                for b in e.bypasses
            ],
        },
    }
    if e.bypasses:
        run["invocations"] = [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {
                        "level": "note",
                        "message": {"text": f"{b.rule} bypassed ({b.reason}): {b.justification}"},
                    }
                    for b in e.bypasses
                ],
            }
        ]
    doc = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
