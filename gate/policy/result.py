"""The records a policy evaluation produces: findings, bypasses and the decision.

Renderers (``gate.report``) read these; they never decide anything themselves.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Severity(enum.StrEnum):
    """How much a finding weighs. ``info`` is recorded (audit) and never changes a decision."""

    BLOCK = "block"
    WARN = "warn"
    INFO = "info"


class Decision(enum.StrEnum):
    ALLOW = "allow"
    WARN = "warn"
    BLOCK = "block"


@dataclass(frozen=True)
class SourceLocation:
    """Where the offending value sits: the change-request (or policy) file and 1-based line."""

    file: str
    line: int | None = None


@dataclass(frozen=True)
class Finding:
    """One rule (or live check) that did not pass."""

    rule: str
    severity: Severity
    message: str
    remediation: str = ""
    location: SourceLocation | None = None
    risk_points: int = 0
    policy: str = ""
    field: str | None = None


@dataclass(frozen=True)
class Bypass:
    """A rule skipped by an emergency change or an explicit override: always reported.

    ``finding`` is what the rule found before it was skipped (SARIF reports it as a
    suppressed result)."""

    rule: str
    reason: str
    justification: str
    finding: Finding | None = None


@dataclass(frozen=True)
class CheckTiming:
    """How long one live pre-deployment check took, and how it ended."""

    name: str
    seconds: float
    outcome: str  # "pass" | "fail" | "error" | "skipped"
    detail: str = ""


@dataclass(frozen=True)
class Evaluation:
    """The whole answer of ``gate check`` for one change request."""

    decision: Decision
    risk_score: int
    findings: tuple[Finding, ...]
    change_file: str
    change_id: str = ""
    environment: str = ""
    policies: tuple[str, ...] = ()
    bypasses: tuple[Bypass, ...] = ()
    next_allowed_at: datetime | None = None
    checks: tuple[CheckTiming, ...] = ()
    evaluated_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[Severity, int]:
        out = dict.fromkeys(Severity, 0)
        for f in self.findings:
            out[f.severity] += 1
        return out


def decide(findings: tuple[Finding, ...] | list[Finding]) -> Decision:
    """Block if any block finding, else warn if any warn finding, else allow."""
    severities = {f.severity for f in findings}
    if Severity.BLOCK in severities:
        return Decision.BLOCK
    if Severity.WARN in severities:
        return Decision.WARN
    return Decision.ALLOW


def risk_score(findings: tuple[Finding, ...] | list[Finding]) -> int:
    """min(sum of the findings' risk points, 100)."""
    return min(sum(f.risk_points for f in findings), 100)
