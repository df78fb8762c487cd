"""Published reference data for the conformance tests (see tests/judge/data/)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
KAYENTA = "spinnaker/kayenta"
MANN_WHITNEY_SUITE = (
    "kayenta-mannwhitney/src/test/scala/com/netflix/kayenta/mannwhitney/MannWhitneySuite.scala"
)
CLASSIFIER_SUITE = "kayenta-judge/src/test/scala/com/netflix/kayenta/judge/ClassifierSuite.scala"
SCORER_SUITE = "kayenta-judge/src/test/scala/com/netflix/kayenta/judge/ScorerSuite.scala"


@cache
def _load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def kayenta_arrays(suite: str, test: str) -> dict[str, list[float]]:
    """The data arrays of one upstream test, by their Scala names."""
    arrays: dict[str, list[float]] = _load("kayenta_suites.json")[suite]["tests"][test]
    return arrays


def r_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = _load("wilcox_reference.json")["cases"]
    return cases
