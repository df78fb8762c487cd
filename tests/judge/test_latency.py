"""The latency judge: the count judge on requests slower than a histogram bucket bound."""

from __future__ import annotations

import math

import numpy as np

from gate.judge import Verdict
from gate.judge.latency import latency_judge, slower_than


def buckets(
    latencies: np.ndarray, bounds: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0)
) -> dict[float, float]:
    out = {b: float((latencies <= b).sum()) for b in bounds}
    out[math.inf] = float(len(latencies))
    return out


def test_slow_requests_are_read_from_cumulative_buckets() -> None:
    assert slower_than({0.1: 50, 0.5: 90, math.inf: 100}, 0.5) == (10, 100)
    assert slower_than({0.1: 50, 0.5: 90, math.inf: 100}, 0.3) == (10, 100)
    assert slower_than({}, 0.5) == (0, 0)


def test_a_slower_canary_fails_and_an_equal_one_does_not() -> None:
    rng = np.random.default_rng(7)
    same_failures = 0
    for _ in range(200):
        judge = latency_judge(threshold=0.5, alpha=0.01)
        for _ in range(60):
            canary = rng.lognormal(-1.5, 0.6, size=100)
            base = rng.lognormal(-1.5, 0.6, size=900)
            verdict = judge.update(canary_buckets=buckets(canary), baseline_buckets=buckets(base))
            if verdict is Verdict.FAIL:
                same_failures += 1
                break
    assert same_failures <= 6  # α = 1 %, 200 runs: 2 expected
    slow = latency_judge(threshold=0.5, alpha=0.01)
    verdicts = [
        slow.update(
            canary_buckets=buckets(rng.lognormal(-1.0, 0.6, size=100)),
            baseline_buckets=buckets(rng.lognormal(-1.5, 0.6, size=900)),
        )
        for _ in range(30)
    ]
    assert Verdict.FAIL in verdicts
    assert slow.failed
    assert slow.interval.lower is not None
    assert slow.interval.lower > 1


def test_an_equally_fast_canary_is_proven_within_tolerance() -> None:
    """With max_ratio, the slow-request ratio gets the same proof of safety as errors."""
    rng = np.random.default_rng(8)
    judge = latency_judge(threshold=0.5, alpha=0.01, max_ratio=1.5)
    verdict = Verdict.CONTINUE
    for _ in range(60):
        verdict = judge.update(
            canary_buckets=buckets(rng.lognormal(-1.5, 0.6, size=500)),
            baseline_buckets=buckets(rng.lognormal(-1.5, 0.6, size=500)),
        )
        if verdict is not Verdict.CONTINUE:
            break
    assert verdict is Verdict.PASS
    assert judge.proven
    assert judge.interval.upper is not None
    assert judge.interval.upper <= 1.5
