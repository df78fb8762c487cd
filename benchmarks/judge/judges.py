"""The judges gate is measured against: Flagger's and Argo's thresholds, Kayenta per window,
and the oracle SPRT. They exist for the benchmark only; gate's own judges are in gate.judge.

``make_judge(kind, **params)`` gives any of them — and gate's ``sequential`` judge through
``gate.judge.count_judge`` — behind the one contract of BENCHMARK.md: ``update(...)`` with a
window's four counts returns ``"fail"``, ``"pass"`` or ``"continue"``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Any

from gate.judge import CountJudge, Counts, Verdict, WindowJudge, count_judge


class ThresholdJudge(WindowJudge):
    """Flagger: every minute (``windows_per_check`` windows) the canary's error rate over that
    minute against ``max_rate``; a check with no canary traffic fails too; rollback when
    ``threshold`` checks have failed over the whole run."""

    def __init__(
        self, *, max_rate: float = 0.01, threshold: int = 5, windows_per_check: int = 6
    ) -> None:
        self.max_rate, self.threshold, self.every = max_rate, threshold, windows_per_check
        self.failed_checks = 0
        self._errors = self._requests = self._windows = 0

    def observe(self, counts: Counts) -> Verdict:
        self._errors += counts.canary_errors
        self._requests += counts.canary_requests
        self._windows += 1
        if self._windows % self.every == 0:
            if self._requests == 0 or self._errors / self._requests > self.max_rate:
                self.failed_checks += 1
            self._errors = self._requests = 0
        return Verdict.FAIL if self.failed_checks >= self.threshold else Verdict.CONTINUE


class RatioJudge(WindowJudge):
    """Argo: every minute, canary rate ≤ ``max_ratio`` × baseline rate over five minutes,
    skipping checks with fewer than ``min_requests`` canary requests; fails when failed
    checks exceed ``failure_limit``."""

    def __init__(
        self,
        *,
        max_ratio: float = 2.0,
        failure_limit: int = 2,
        min_requests: int = 50,
        windows_per_check: int = 6,
        lookback_windows: int = 30,
    ) -> None:
        self.max_ratio, self.failure_limit, self.min_requests = (
            max_ratio,
            failure_limit,
            min_requests,
        )
        self.every = windows_per_check
        self._history: deque[tuple[int, int, int, int]] = deque(maxlen=lookback_windows)
        self._windows = 0
        self.failures = 0

    def observe(self, counts: Counts) -> Verdict:
        self._history.append(
            (
                counts.canary_errors,
                counts.canary_requests,
                counts.baseline_errors,
                counts.baseline_requests,
            )
        )
        self._windows += 1
        if self._windows % self.every == 0:
            ce, cr, be, br = (sum(w[i] for w in self._history) for i in range(4))
            if cr >= self.min_requests and br > 0:
                canary_rate, baseline_rate = ce / cr, be / br
                if canary_rate > self.max_ratio * baseline_rate:
                    self.failures += 1
        return Verdict.FAIL if self.failures > self.failure_limit else Verdict.CONTINUE


class KayentaJudge(WindowJudge):
    """Kayenta at the end of each stage (``windows_per_stage`` windows): Mann-Whitney
    classification of the per-window error rates of canary against baseline."""

    def __init__(
        self, *, windows_per_stage: int = 30, confidence: float = 0.98, tolerance: float = 0.25
    ) -> None:
        self.every, self.confidence, self.tolerance = windows_per_stage, confidence, tolerance
        self._canary: list[float] = []
        self._baseline: list[float] = []
        self.failed = False

    def observe(self, counts: Counts) -> Verdict:
        from gate.judge.kayenta import Label, MannWhitneyClassifier

        if self.failed:
            return Verdict.FAIL
        ce, cr, be, br = (
            counts.canary_errors,
            counts.canary_requests,
            counts.baseline_errors,
            counts.baseline_requests,
        )
        self._canary.append(ce / cr if cr else math.nan)
        self._baseline.append(be / br if br else math.nan)
        if len(self._canary) >= self.every:
            classifier = MannWhitneyClassifier(tolerance=self.tolerance, conf_level=self.confidence)
            result = classifier.classify(self._baseline, self._canary, "increase")
            self._canary, self._baseline = [], []
            if result.classification is Label.HIGH:
                self.failed = True
                return Verdict.FAIL
        return Verdict.CONTINUE


class OracleSPRT(WindowJudge):
    """Wald's one-sided SPRT told the true baseline rate ``p0`` and ``ratio``: no real judge
    can need fewer requests on average. It never accepts; it fails at log(1/α). ``boosts``
    (one factor per window) tells it about shared spikes too, so that an outage hitting both
    arms is not evidence against the canary for the oracle either."""

    def __init__(
        self,
        *,
        p0: float,
        ratio: float,
        alpha: float = 0.01,
        boosts: Sequence[float] = (),
    ) -> None:
        if not 0 < p0 < 1 or not 0 < p0 * ratio < 1:
            raise ValueError("p0 and p0·ratio must be probabilities")
        self.threshold = math.log(1 / alpha)
        self.p0, self.ratio = p0, ratio
        self.boosts = tuple(boosts)
        self.llr = 0.0
        self.window = 0
        self.failed = False

    def observe(self, counts: Counts) -> Verdict:
        if self.failed:
            return Verdict.FAIL
        boost = self.boosts[self.window] if self.window < len(self.boosts) else 1.0
        self.window += 1
        base = min(self.p0 * boost, 1.0)
        bad = min(self.ratio * self.p0 * boost, 1.0)
        errors, requests = counts.canary_errors, counts.canary_requests
        if bad >= 1.0 or base >= 1.0:  # a window where every request fails tells nothing
            return Verdict.CONTINUE
        self.llr += errors * math.log(bad / base) + (requests - errors) * math.log(
            (1 - bad) / (1 - base)
        )
        if self.llr >= self.threshold:
            self.failed = True
            return Verdict.FAIL
        return Verdict.CONTINUE


def split_oracle(*, ratio: float, alpha: float = 0.01) -> CountJudge:
    """gate's sequential judge told the true ratio (all its prior on it): the best any judge
    can do that, like gate's, uses only how errors split between the arms, and so is not
    fooled by a shared spike. What it cannot reach, no split-based judge can."""
    from gate.judge.sequential import SequentialCountJudge

    return SequentialCountJudge(alpha=alpha, harm_prior=((ratio, ratio, 1.0),))


BASELINES: dict[str, type[WindowJudge]] = {
    "threshold": ThresholdJudge,
    "ratio": RatioJudge,
    "kayenta": KayentaJudge,
    "oracle": OracleSPRT,
}


def make_judge(kind: str, **params: Any) -> CountJudge:
    """A new judge of ``kind``: gate's ``sequential``, ``split`` (:func:`split_oracle`) or one
    of :data:`BASELINES`."""
    if kind == "split":
        return split_oracle(**params)
    if kind in BASELINES:
        judge: CountJudge = BASELINES[kind](**params)
        return judge
    return count_judge(kind, **params)
