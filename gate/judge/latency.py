"""An anytime-valid test that a canary is slower than its baseline, on latency histograms.

If canary and baseline share one latency distribution, a request is slower than a fixed
``threshold`` (a histogram bucket bound, e.g. the baseline's p95 at the start) with the same
probability in both arms, whatever the load does. So "which arm did each slow request come
from" is the same binomial problem as "which arm did each error come from", and the sequential
count judge applies unchanged: it fails when the canary's share of slow requests is
significantly above its share of traffic, looking as often as it likes, and with
``max_ratio`` it passes once the canary's slow-request rate is proven at most ``max_ratio`` ×
the baseline's; ``interval`` gives the anytime-valid bounds on that ratio.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from gate.judge import Counts, Verdict
from gate.judge.sequential import RatioInterval, SequentialCountJudge

Buckets = Mapping[float, float]  # Prometheus `le` bound → cumulative count in the window


def slower_than(buckets: Buckets, threshold: float) -> tuple[int, int]:
    """(requests slower than ``threshold``, all requests) from cumulative ``le`` buckets."""
    if not buckets:
        return 0, 0
    total = buckets.get(math.inf, max(buckets.values()))
    bounds = sorted(b for b in buckets if b >= threshold)
    if not bounds or math.isinf(bounds[0]):  # then no request could ever count as slower
        finite = sorted(b for b in buckets if math.isfinite(b))
        raise ValueError(
            f"no finite bucket bound at or above {threshold:g} (the largest is "
            f"{finite[-1]:g}): is the threshold in the histogram's unit?"
            if finite
            else f"no finite bucket bound at or above {threshold:g}"
        )
    within = buckets[bounds[0]]
    return max(0, round(total - within)), max(0, round(total))


class LatencyJudge:
    """``update(canary_buckets=, baseline_buckets=)`` per window → fail, pass or continue."""

    def __init__(
        self, *, threshold: float, alpha: float = 0.01, max_ratio: float | None = None
    ) -> None:
        self.threshold = threshold
        self.counts = SequentialCountJudge(alpha=alpha, max_ratio=max_ratio)

    def update(self, *, canary_buckets: Buckets, baseline_buckets: Buckets) -> Verdict:
        slow_c, all_c = slower_than(canary_buckets, self.threshold)
        slow_b, all_b = slower_than(baseline_buckets, self.threshold)
        return self.counts.update(Counts(min(slow_c, all_c), all_c, min(slow_b, all_b), all_b))

    @property
    def failed(self) -> bool:
        return self.counts.failed

    @property
    def proven(self) -> bool:
        return self.counts.proven

    @property
    def interval(self) -> RatioInterval:
        """Bounds on (canary share slower than threshold) / (baseline share slower)."""
        return self.counts.interval


def latency_judge(
    *, threshold: float, alpha: float = 0.01, max_ratio: float | None = None
) -> LatencyJudge:
    return LatencyJudge(threshold=threshold, alpha=alpha, max_ratio=max_ratio)
