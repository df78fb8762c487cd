"""``--format text``: for people at a terminal; colored when asked to."""

from __future__ import annotations

from gate.policy.result import Decision, Evaluation, Severity
from gate.report import RenderOptions

_COLORS = {"red": "31", "yellow": "33", "green": "32", "dim": "2", "bold": "1", "cyan": "36"}
_DECISION_COLOR = {Decision.ALLOW: "green", Decision.WARN: "yellow", Decision.BLOCK: "red"}
_SEVERITY_COLOR = {Severity.BLOCK: "red", Severity.WARN: "yellow", Severity.INFO: "cyan"}
_SEVERITY_LABEL = {Severity.BLOCK: "BLOCK", Severity.WARN: "WARN ", Severity.INFO: "AUDIT"}
# Quoted text (a file name, a check run's name, an incident's title) is shown with its control
# characters escaped: a line break in it would start a line that the GitHub runner reads as a
# workflow command, and an escape sequence is obeyed by a terminal.
_ESCAPED = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0)) if c != 0x09}
_ESCAPED |= {0x0A: "\\n", 0x0D: "\\r"}


def _plain(text: str) -> str:
    return text.translate(_ESCAPED)


def render(evaluation: Evaluation, options: RenderOptions | None = None) -> str:
    options = options or RenderOptions()

    def paint(text: str, name: str) -> str:
        return f"\x1b[{_COLORS[name]}m{text}\x1b[0m" if options.color else text

    e = evaluation
    lines: list[str] = []
    head = f"{e.decision.value.upper()}"
    where = f" in {e.environment}" if e.environment else ""
    lines.append(
        f"{paint(head, _DECISION_COLOR[e.decision])}  {_plain(e.change_id or e.change_file)}"
        f"{_plain(where)}"
        f"  risk score {e.risk_score}/100"
    )
    for f in e.findings:
        loc = ""
        if f.location is not None:
            loc = f"{f.location.file}:{f.location.line}" if f.location.line else f.location.file
        label = paint(_SEVERITY_LABEL[f.severity], _SEVERITY_COLOR[f.severity])
        points = f" (+{f.risk_points})" if f.risk_points else ""
        lines.append(f"  {label} {f.rule}{points}: {_plain(f.message)}")
        if loc:
            lines.append(f"        at {paint(_plain(loc), 'dim')}")
        if f.remediation:
            lines.append(f"        fix: {_plain(f.remediation)}")
    for b in e.bypasses:
        lines.append(
            f"  {paint('BYPASS', 'cyan')} {b.rule} skipped ({b.reason}): " + _plain(b.justification)
        )
    for c in e.checks:
        detail = f": {_plain(c.detail)}" if c.detail else ""
        lines.append(f"  check {c.name}: {c.outcome} in {c.seconds:.2f}s{detail}")
    if e.next_allowed_at is not None:
        lines.append(f"  next allowed at {e.next_allowed_at.isoformat()}")
    if not e.findings and not e.bypasses:
        lines.append("  no findings")
    return "\n".join(lines) + "\n"
