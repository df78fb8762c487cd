"""Publish a result to GitHub Actions: annotations, step summary and step outputs.

Workflow commands (annotations, ``::add-mask::``) are meant for the runner, not for whoever
reads the report: ``gate`` writes them to standard error. The runner parses both output
streams of a step for workflow commands (actions/runner: ``ScriptHandler`` and
``ContainerActionHandler`` hand stdout and stderr to the same command manager), so they take
effect there just the same, while standard output carries only the report and
``--format json`` or ``sarif`` stays parseable, also when redirected to a file.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path

from gate.policy.result import Evaluation
from gate.report import RenderOptions, github, markdown

SUMMARY_LIMIT = 1024 * 1024 - 4096


def mask(value: str) -> str:
    """The workflow command that hides ``value`` in the job's log."""
    return f"::add-mask::{github.escape_data(value)}"


def _append(path: str, text: str) -> str | None:
    try:
        with Path(path).open("a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        return f"::warning title=gate::cannot write {github.escape_data(path)}: " + (
            github.escape_data(exc.strerror or str(exc))
        )
    return None


def output_lines(outputs: Mapping[str, str]) -> str:
    """``$GITHUB_OUTPUT`` lines; multi-line values use the heredoc form."""
    out = []
    for name, value in outputs.items():
        if "\n" in value or "\r" in value:
            delimiter = f"gate_{uuid.uuid4().hex}"
            out.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            out.append(f"{name}={value}\n")
    return "".join(out)


def publish(
    evaluation: Evaluation,
    environ: Mapping[str, str],
    *,
    options: RenderOptions | None = None,
    annotations: bool = True,
) -> list[str]:
    """Write the step summary and outputs; return the workflow-command lines to print (on
    standard error): the annotations unless ``annotations`` is False (``--format github`` on
    standard output already printed them), and a warning for a file that cannot be written."""
    options = options or RenderOptions()
    lines = github.annotation_lines(evaluation, options) if annotations else []
    summary_path = environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        summary = markdown.render(evaluation, options)
        if len(summary.encode("utf-8")) > SUMMARY_LIMIT:
            summary = summary.encode("utf-8")[:SUMMARY_LIMIT].decode("utf-8", "ignore")
            summary += "\n\n_… summary truncated at 1 MiB; use --format json for all of it._\n"
        problem = _append(summary_path, summary)
        if problem:
            lines.append(problem)
    output_path = environ.get("GITHUB_OUTPUT")
    if output_path:
        values = {
            "decision": evaluation.decision.value,
            "risk-score": str(evaluation.risk_score),
            "next-allowed-at": evaluation.next_allowed_at.isoformat()
            if evaluation.next_allowed_at
            else "",
        }
        problem = _append(output_path, output_lines(values))
        if problem:
            lines.append(problem)
    return lines


def mask_lines(environ: Mapping[str, str]) -> list[str]:
    """``::add-mask::`` for every secret gate has read, under GitHub Actions only."""
    from gate.secrets import known_values

    if environ.get("GITHUB_ACTIONS") != "true":
        return []
    return [mask(value) for value in known_values()]
