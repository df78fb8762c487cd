"""``--format github``: workflow-command annotations on the offending lines.

GitHub shows at most 10 errors and 10 warnings per step; past that, one notice says how many
more there are. Paths are repository-relative (the runner places a relative ``file`` from the
repository root). Escaping follows the runner's command parser: in the message ``%``, CR and
LF; in a property also ``:`` and ``,`` (``%`` first, so an escape is never escaped twice).
"""

from __future__ import annotations

from gate.policy.result import Evaluation, Finding, Severity
from gate.report import RenderOptions
from gate.report.locations import SourceFiles

LIMIT = 10
COMMAND = {Severity.BLOCK: "error", Severity.WARN: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(f: Finding, files: SourceFiles | None = None) -> str:
    props = []
    if f.location is not None:
        path = files.display(f.location.file) if files is not None else f.location.file
        props.append(f"file={escape_property(path)}")
        if f.location.line is not None:
            props.append(f"line={f.location.line}")
    props.append(f"title={escape_property(f'gate: {f.rule}')}")
    body = f.message + (f" Fix: {f.remediation}" if f.remediation else "")
    return f"::{COMMAND[f.severity]} {','.join(props)}::{escape_data(body)}"


def annotation_lines(evaluation: Evaluation, options: RenderOptions | None = None) -> list[str]:
    options = options or RenderOptions()
    files = SourceFiles(options.root, options.cwd)
    lines: list[str] = []
    shown = {Severity.BLOCK: 0, Severity.WARN: 0, Severity.INFO: 0}
    hidden = {Severity.BLOCK: 0, Severity.WARN: 0, Severity.INFO: 0}
    for f in evaluation.findings:
        if shown[f.severity] < LIMIT:
            shown[f.severity] += 1
            lines.append(annotation(f, files))
        else:
            hidden[f.severity] += 1
    for b in evaluation.bypasses:
        lines.append(
            f"::notice title={escape_property(f'gate: {b.rule} bypassed')}::"
            + escape_data(f"{b.rule} skipped ({b.reason}): {b.justification}")
        )
    more = [f"{n} more {COMMAND[s]}{'s' if n > 1 else ''}" for s, n in hidden.items() if n]
    if more:
        lines.append(
            "::notice title=gate::"
            + escape_data(
                f"{' and '.join(more)} not shown as annotations; see the step summary or "
                "--format json"
            )
        )
    lines.append(
        f"::notice title=gate decision::{evaluation.decision.value} "
        f"(risk score {evaluation.risk_score})"
    )
    return lines


def render(evaluation: Evaluation, options: RenderOptions | None = None) -> str:
    return "\n".join(annotation_lines(evaluation, options)) + "\n"
