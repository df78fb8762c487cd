"""The canary judge: decides, window by window, whether a canary is worse than its baseline.

``count_judge(kind, **params)`` returns an object whose ``update(canary_errors=,
canary_requests=, baseline_errors=, baseline_requests=)`` takes one analysis window's
increments and returns ``"fail"`` or ``"continue"``. A judge keeps its own state; a new canary
gets a new judge.

Kinds:

* ``sequential`` — gate's anytime-valid test (:mod:`gate.judge.sequential`): false rollbacks
  stay at or below ``alpha`` however often it looks.
* ``threshold`` — Flagger-style: canary error rate over a minute against ``max_rate``.
* ``ratio`` — Argo-style: canary rate at most ``max_ratio`` × baseline over five minutes.
* ``kayenta`` — Kayenta's Mann-Whitney classification of per-window error rates at the end of
  each stage.
* ``oracle`` — Wald's SPRT told the true ``p0`` and ``ratio``: the benchmark's lower bound.
"""

from __future__ import annotations

from typing import Any, Protocol

FAIL = "fail"
CONTINUE = "continue"


class CountJudge(Protocol):
    def update(
        self,
        *,
        canary_errors: int,
        canary_requests: int,
        baseline_errors: int,
        baseline_requests: int,
    ) -> str: ...


def check_counts(
    canary_errors: int, canary_requests: int, baseline_errors: int, baseline_requests: int
) -> None:
    """Raise ValueError for counts that cannot be: negative, or more errors than requests."""
    for name, value in (
        ("canary_errors", canary_errors),
        ("canary_requests", canary_requests),
        ("baseline_errors", baseline_errors),
        ("baseline_requests", baseline_requests),
    ):
        if value < 0:
            raise ValueError(f"{name} is {value}; counts cannot be negative")
    if canary_errors > canary_requests or baseline_errors > baseline_requests:
        raise ValueError("more errors than requests in a window")


def count_judge(kind: str, **params: Any) -> CountJudge:
    """A new judge of ``kind`` (see the module docstring) with its own parameters."""
    if kind == "sequential":
        from gate.judge.sequential import SequentialCountJudge

        return SequentialCountJudge(**params)
    if kind in ("threshold", "ratio", "kayenta", "oracle"):
        from gate.judge import baselines

        cls = {
            "threshold": baselines.ThresholdJudge,
            "ratio": baselines.RatioJudge,
            "kayenta": baselines.KayentaJudge,
            "oracle": baselines.OracleSPRT,
        }[kind]
        judge: CountJudge = cls(**params)
        return judge
    raise ValueError(
        f"unknown judge kind {kind!r}; one of: sequential, threshold, ratio, kayenta, oracle"
    )
