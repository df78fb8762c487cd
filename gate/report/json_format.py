"""``--format json``: the contract of DESIGN.md, plus extra keys."""

from __future__ import annotations

import json
from typing import Any

from gate.policy.result import Evaluation, Finding
from gate.report import RenderOptions


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "severity": f.severity.value,
        "message": f.message,
        "remediation": f.remediation,
        "location": {"file": f.location.file, "line": f.location.line} if f.location else None,
        "risk_points": f.risk_points,
        "policy": f.policy,
        "field": f.field,
    }


def as_dict(evaluation: Evaluation) -> dict[str, Any]:
    e = evaluation
    return {
        "decision": e.decision.value,
        "risk_score": e.risk_score,
        "findings": [_finding(f) for f in e.findings],
        "next_allowed_at": e.next_allowed_at.isoformat() if e.next_allowed_at else None,
        "change": {"id": e.change_id, "file": e.change_file},
        "environment": e.environment,
        "policies": list(e.policies),
        "bypasses": [
            {"rule": b.rule, "reason": b.reason, "justification": b.justification}
            for b in e.bypasses
        ],
        "checks": [
            {
                "name": c.name,
                "seconds": round(c.seconds, 3),
                "outcome": c.outcome,
                "detail": c.detail,
            }
            for c in e.checks
        ],
        "evaluated_at": e.evaluated_at.isoformat() if e.evaluated_at else None,
    }


def render(evaluation: Evaluation, options: RenderOptions | None = None) -> str:
    return json.dumps(as_dict(evaluation), indent=2, ensure_ascii=False) + "\n"
