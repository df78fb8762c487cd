"""Renderers: an Evaluation in, text out. Renderers never decide anything.

Each format lives in its own module exposing ``render(evaluation, *, color=False) -> str``;
modules are imported only when their format is asked for.
"""

from __future__ import annotations

import importlib

from gate.policy.result import Evaluation

FORMATS: dict[str, str] = {
    "text": "gate.report.text",
    "json": "gate.report.json_format",
    "junit": "gate.report.junit",
    "sarif": "gate.report.sarif",
    "github": "gate.report.github",
    "markdown": "gate.report.markdown",
}


def render(evaluation: Evaluation, fmt: str, *, color: bool = False) -> str:
    """Render ``evaluation`` in ``fmt`` (one of :data:`FORMATS`)."""
    module = importlib.import_module(FORMATS[fmt])
    text: str = module.render(evaluation, color=color)
    return text
