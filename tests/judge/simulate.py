"""Canaries simulated as the judge benchmark does (benchmarks/judge/run.py), for the tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.judge.judges import make_judge
from benchmarks.judge.run import Scenario, traffic
from gate.judge import Counts, Verdict


@dataclass(frozen=True)
class Outcome:
    """How one judge fared over ``runs`` simulated canaries."""

    runs: int
    failed: int
    passed: int  # proven within tolerance before any failure
    exposure: list[int]  # canary requests served before each failure
    pass_windows: list[int]  # windows until each pass

    @property
    def fail_rate(self) -> float:
        return self.failed / self.runs

    @property
    def pass_rate(self) -> float:
        return self.passed / self.runs


def simulate(kind: str, scenario: Scenario, runs: int, seed: int, **params: Any) -> Outcome:
    rng = np.random.default_rng(seed)
    failed = passed = 0
    exposure: list[int] = []
    pass_windows: list[int] = []
    for _ in range(runs):
        judge = make_judge(kind, **params)
        seen = 0
        for window, row in enumerate(traffic(rng, scenario).tolist(), start=1):
            seen += row[1]
            verdict = judge.update(Counts(*row))
            if verdict is Verdict.FAIL:
                failed += 1
                exposure.append(seen)
                break
            if verdict is Verdict.PASS:
                passed += 1
                pass_windows.append(window)
                break
    return Outcome(runs, failed, passed, exposure, pass_windows)


def allowed(alpha: float, runs: int) -> float:
    """alpha plus three binomial standard errors: the most a correct judge shows by chance."""
    return alpha + 3 * float(np.sqrt(alpha * (1 - alpha) / runs))
