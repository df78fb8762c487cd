"""``--format markdown``: the GitHub step summary (also fine for a PR comment)."""

from __future__ import annotations

import html

from gate.policy.result import Evaluation, Severity
from gate.report import RenderOptions

ICON = {"allow": "✅", "warn": "⚠️", "block": "⛔"}
SEVERITY_ICON = {Severity.BLOCK: "⛔ block", Severity.WARN: "⚠️ warn", Severity.INFO: "ℹ️ audit"}


def cell(text: str) -> str:
    """Text that is safe inside a Markdown table cell."""
    escaped = html.escape(text, quote=False).replace("\\", "\\\\").replace("|", "\\|")
    return escaped.replace("\r", " ").replace("\n", "<br>")


def render(evaluation: Evaluation, options: RenderOptions | None = None) -> str:
    e = evaluation
    out: list[str] = []
    where = f" · environment `{e.environment}`" if e.environment else ""
    out.append(f"## {ICON[e.decision.value]} gate check: **{e.decision.value.upper()}**")
    out.append("")
    out.append(
        f"Change `{cell(e.change_id or e.change_file)}`{where} · risk score "
        f"**{e.risk_score}/100** · policies: {', '.join(e.policies) or 'none'}"
    )
    if e.next_allowed_at is not None:
        out.append("")
        out.append(f"Next allowed at **{e.next_allowed_at.isoformat()}**")
    out.append("")
    if e.findings:
        out.append("| | Rule | Finding | Fix | Where |")
        out.append("|---|---|---|---|---|")
        for f in e.findings:
            where_ = ""
            if f.location is not None:
                where_ = f.location.file + (f":{f.location.line}" if f.location.line else "")
            points = f" (+{f.risk_points})" if f.risk_points else ""
            out.append(
                f"| {SEVERITY_ICON[f.severity]} | `{cell(f.rule)}`{points} | "
                f"{cell(f.message)} | {cell(f.remediation)} | {cell(where_)} |"
            )
    else:
        out.append("No findings.")
    if e.bypasses:
        out.append("")
        out.append("**Bypassed rules** (recorded, not silent):")
        out.append("")
        for b in e.bypasses:
            out.append(f"- `{cell(b.rule)}` — {cell(b.reason)}: {cell(b.justification)}")
    if e.checks:
        out.append("")
        out.append("| Live check | Outcome | Time | Detail |")
        out.append("|---|---|---|---|")
        for c in e.checks:
            out.append(f"| {cell(c.name)} | {c.outcome} | {c.seconds:.2f} s | {cell(c.detail)} |")
    return "\n".join(out) + "\n"
