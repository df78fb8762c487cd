"""Renderers: an Evaluation in, text out. Renderers never decide anything.

Each format lives in its own module exposing ``render(evaluation, options) -> str``; modules
are imported only when their format is asked for. :class:`RenderOptions` carries what a
renderer needs to know about the run but cannot see in the evaluation: where the repository
root is (for repository-relative paths) and which decision fails the run (``--fail-on``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from gate.policy.result import Decision, Evaluation

FORMATS: dict[str, str] = {
    "text": "gate.report.text",
    "json": "gate.report.json_format",
    "junit": "gate.report.junit",
    "sarif": "gate.report.sarif",
    "github": "gate.report.github",
    "markdown": "gate.report.markdown",
}


@dataclass(frozen=True)
class RenderOptions:
    """How to render one evaluation.

    ``fail_on`` is the least severe decision that fails the run (``--fail-on``): block by
    default, warn under ``--fail-on warn``. ``root`` is the repository root that SARIF URIs,
    annotation and JUnit paths are written relative to; ``cwd`` is the directory the findings'
    relative paths are relative to. Both default to the process's working directory.
    """

    color: bool = False
    fail_on: Decision = Decision.BLOCK
    root: Path | None = None
    cwd: Path | None = None

    def fails(self, decision: Decision) -> bool:
        """Whether ``decision`` makes ``gate check`` exit 1 under these options."""
        if decision is Decision.BLOCK:
            return True
        return decision is Decision.WARN and self.fail_on is Decision.WARN


def render(evaluation: Evaluation, fmt: str, options: RenderOptions | None = None) -> str:
    """Render ``evaluation`` in ``fmt`` (one of :data:`FORMATS`)."""
    module = importlib.import_module(FORMATS[fmt])
    text: str = module.render(evaluation, options or RenderOptions())
    return text
