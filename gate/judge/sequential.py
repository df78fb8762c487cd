"""An anytime-valid confidence sequence for the canary/baseline error-rate ratio.

The model. Given that an error happened in a window, it came from the canary with probability
θ = rρ / (rρ + 1 − ρ), where ρ is the canary's share of that window's requests and r the ratio
of the canary's error rate to the baseline's — however the overall rate moves (traffic swings,
an upstream outage hitting both arms alike). Equal rates (r = 1) make θ = ρ. So, window after
window, the errors' split between the arms is a binomial experiment in β = log r with a known,
changing ρ; nothing else about the traffic matters.

The e-processes. For a candidate ratio r₀, the likelihood ratios of the windows so far between
alternatives r₀·e^{±δ} and r₀, averaged over a prior on the offset δ > 0, form a test
martingale when the true ratio is r₀ (Lindon et al., KDD 2022; Lindon & Malek, NeurIPS 2022;
Wald's likelihood-ratio martingale). By Ville's inequality it reaches 1/α with probability at
most α, however often it is looked at. With the offsets above r₀ ("harm": the canary is worse
than r₀) the mixture falls as r₀ grows; with the offsets below r₀ ("safety") it rises. Hence:

* **lower bound** L: the largest r₀ whose harm mixture ever reached 1/α. The canary **fails**
  when L ≥ 1, i.e. when the harm mixture at r₀ = 1 reaches 1/α (its errors are significantly
  above the baseline's): a good canary fails with probability at most α.
* **upper bound** U: the smallest r₀ whose safety mixture ever reached 1/α. The canary is
  **proven within tolerance** when U ≤ ``max_ratio``: a canary whose true ratio is above
  ``max_ratio`` (a ×2 regression against 1.5) is promoted this way with probability at most α.

Each bound is one-sided at level α and valid uniformly over time, so the running maximum (L)
and minimum (U) are kept: [L, U] narrows as evidence comes in and never widens. Only harm
fails and only proof passes; everything else is "continue".

The grid. log r is tracked on a fixed grid of step ≈ 0.034 (1 and ``max_ratio`` on grid points)
from 1/16 to 32; alternatives off the grid are left out of a mixture, which keeps it a valid
(smaller) e-process. Bounds are reported at grid points, rounded outwards. Pure Python.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gate.judge import NO_COUNTS, Counts, Verdict, WindowJudge

GRID_STEP = math.log(1.5) / 12
LOG_RATIO_MIN = math.log(1 / 16)
LOG_RATIO_MAX = math.log(32)

# (ratio from, ratio to, mass): the mass is spread evenly over the grid offsets e^δ in
# (from, to]; from == to puts it on the grid offset nearest that ratio. Masses are relative.
Prior = Sequence[tuple[float, float, float]]

# How much worse than r₀ the canary is: round ratios, the small ones (the hardest to catch)
# weighing most. benchmarks/judge/priors.py holds the alternatives tried: spreading mass over
# the ratios in between moves low-traffic figures and high-traffic ones by about 0.1× the
# oracle's exposure in opposite directions, and reaches none of the low-traffic targets.
HARM_PRIOR: Prior = (
    (1.25, 1.25, 3.0),
    (1.5, 1.5, 3.0),
    (2.0, 2.0, 2.0),
    (3.0, 3.0, 1.0),
    (5.0, 5.0, 1.0),
    (10.0, 10.0, 1.0),
)
# How much better than r₀ the canary is, besides the half on "exactly as good as its
# baseline" (offset max_ratio, see SequentialCountJudge): proving ratio ≤ max_ratio for a
# canary as good as its baseline is the common case.
SAFETY_BANDS: Prior = (
    (1.0, 1.25, 7.5),
    (1.25, 1.5, 17.5),
    (1.5, 2.0, 15.0),
    (2.0, 4.0, 7.5),
    (4.0, 20.0, 2.5),
)


@dataclass(frozen=True)
class RatioInterval:
    """Anytime-valid bounds on canary error rate / baseline error rate. ``lower`` is None
    while nothing rules out any small ratio, ``upper`` is None while nothing rules out any
    large one. Each bound holds with ``confidence`` on its own."""

    lower: float | None
    upper: float | None
    confidence: float

    def describe(self) -> str:
        pct = f"{self.confidence * 100:g} %"
        if self.upper is None and self.lower is None:
            return f"ratio not bounded yet at {pct} confidence"
        parts = []
        if self.lower is not None:
            parts.append(f"ratio ≥ {self.lower:.3g}")
        if self.upper is not None:
            parts.append(f"ratio ≤ {self.upper:.3g}")
        return f"{' and '.join(parts)} with {pct} confidence"


def _offsets(prior: Prior, step: float) -> list[tuple[int, float]]:
    """(grid offset j ≥ 1, log weight), the weights summing to 1."""
    weights: dict[int, float] = {}
    if not prior or any(mass < 0 for _, _, mass in prior):
        raise ValueError("prior masses must be non-negative")
    for low, high, mass in prior:
        if not 1 <= low <= high:
            raise ValueError("prior ratios must be at least 1 and increasing within an entry")
        if low == high:
            slots = [max(1, round(math.log(low) / step))]
        else:
            first = math.floor(math.log(low) / step + 1e-9) + 1
            last = math.floor(math.log(high) / step + 1e-9)
            slots = list(range(first, last + 1))
        for j in slots:
            weights[j] = weights.get(j, 0.0) + mass / len(slots)
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("prior masses must not all be zero")
    return sorted((j, math.log(w / total)) for j, w in weights.items() if w > 0)


class SequentialCountJudge(WindowJudge):
    """Fails a canary whose error rate is significantly above its baseline's; with
    ``max_ratio`` also passes one proven to be at most ``max_ratio`` × the baseline's."""

    def __init__(
        self,
        *,
        alpha: float = 0.01,
        max_ratio: float | None = None,
        harm_prior: Prior = HARM_PRIOR,
        safety_prior: Prior | None = None,
    ) -> None:
        if not 0 < alpha < 1:
            raise ValueError("alpha must be between 0 and 1")
        if max_ratio is not None and not 1 < max_ratio < math.exp(LOG_RATIO_MAX):
            raise ValueError("max_ratio must be above 1 (and below 32)")
        self.alpha = alpha
        self.max_ratio = max_ratio
        anchor = math.log(max_ratio) if max_ratio is not None else math.log(1.5)
        steps = max(1, round(anchor / GRID_STEP))
        h = anchor / steps
        low, high = math.floor(LOG_RATIO_MIN / h), math.ceil(LOG_RATIO_MAX / h)
        self._betas = [k * h for k in range(low, high + 1)]
        self._ratios = [math.exp(b) for b in self._betas]
        self._zero = -low  # grid index of ratio 1
        self._max_index = self._zero + steps if max_ratio is not None else None
        if safety_prior is None:
            as_good = math.exp(anchor)  # ratio 1 seen from r₀ = max_ratio
            safety_prior = ((as_good, as_good, 50.0), *SAFETY_BANDS)
        self._harm = _offsets(harm_prior, h)
        self._safety = _offsets(safety_prior, h)
        self._ll = [0.0] * len(self._betas)  # log-likelihood of each grid ratio, up to a constant
        self._threshold = math.log(1 / alpha)
        self._lower = -1  # running max grid index of the lower bound (-1: none)
        self._upper = len(self._betas)  # running min grid index of the upper bound (none)
        self.totals = NO_COUNTS
        self.windows = 0
        self.informative_windows = 0  # windows with errors and requests in both arms
        self.failed_at: int | None = None  # 1-based window that failed the canary
        self.proven_at: int | None = None  # 1-based window that proved it within max_ratio

    # --- evidence ---------------------------------------------------------------------------

    def _log_mixture(self, index: int, offsets: list[tuple[int, float]], sign: int) -> float:
        ll = self._ll
        base = ll[index]
        size = len(ll)
        terms = [
            lw + ll[index + sign * j] - base for j, lw in offsets if 0 <= index + sign * j < size
        ]
        if not terms:
            return -math.inf
        top = max(terms)
        exp = math.exp
        return top + math.log(sum([exp(t - top) for t in terms]))

    @property
    def log_evidence(self) -> float:
        """log of the harm mixture at ratio 1 now: the canary fails when it reaches
        log(1/α)."""
        return self._log_mixture(self._zero, self._harm, +1)

    def _harm_reached(self, index: int) -> bool:
        return self._log_mixture(index, self._harm, +1) >= self._threshold

    def _safety_reached(self, index: int) -> bool:
        return self._log_mixture(index, self._safety, -1) >= self._threshold

    def _advance_bounds(self) -> None:
        # The harm mixture falls along the grid and the safety mixture rises, so the points
        # where each reaches 1/α are a prefix and a suffix of the grid: gallop, then bisect.
        size = len(self._ll)
        if self._lower + 1 < size and self._harm_reached(self._lower + 1):
            good, step = self._lower + 1, 1
            while good + step < size and self._harm_reached(good + step):
                good, step = good + step, step * 2
            bad = min(good + step, size)
            while bad - good > 1:
                mid = (good + bad) // 2
                good, bad = (mid, bad) if self._harm_reached(mid) else (good, mid)
            self._lower = good
        if self._upper - 1 >= 0 and self._safety_reached(self._upper - 1):
            good, step = self._upper - 1, 1
            while good - step >= 0 and self._safety_reached(good - step):
                good, step = good - step, step * 2
            bad = max(good - step, -1)
            while good - bad > 1:
                mid = (good + bad) // 2
                good, bad = (mid, bad) if self._safety_reached(mid) else (good, mid)
            self._upper = good

    def observe(self, counts: Counts) -> Verdict:
        self.totals += counts
        self.windows += 1
        if self.failed:
            return Verdict.FAIL
        errors = counts.canary_errors + counts.baseline_errors
        n_canary, n_baseline = counts.canary_requests, counts.baseline_requests
        if errors and n_canary and n_baseline:
            self.informative_windows += 1
            rho = n_canary / (n_canary + n_baseline)
            rest = 1.0 - rho
            hits = counts.canary_errors
            log = math.log
            self._ll = [
                ll + hits * b - errors * log(rho * r + rest)
                for ll, b, r in zip(self._ll, self._betas, self._ratios, strict=True)
            ]
            self._advance_bounds()
            if self.failed and self.failed_at is None:
                self.failed_at = self.windows
            if self.proven and self.proven_at is None:
                self.proven_at = self.windows
        return self.verdict

    # --- what the judge knows ---------------------------------------------------------------

    @property
    def failed(self) -> bool:
        """The canary's error rate is significantly above the baseline's (lower bound > 1)."""
        return self._lower >= self._zero

    @property
    def proven(self) -> bool:
        """The canary is proven at most ``max_ratio`` × the baseline (upper bound ≤ it)."""
        return self._max_index is not None and self._upper <= self._max_index

    @property
    def verdict(self) -> Verdict:
        if self.failed:
            return Verdict.FAIL
        if self.proven:
            return Verdict.PASS
        return Verdict.CONTINUE

    @property
    def estimate(self) -> float | None:
        """The most likely ratio on the grid (None before any window with errors)."""
        if not self.informative_windows:
            return None
        best = max(range(len(self._ll)), key=self._ll.__getitem__)
        return self._ratios[best]

    @property
    def interval(self) -> RatioInterval:
        """The anytime-valid bounds on the ratio so far (each at confidence 1 − α)."""
        lower = self._ratios[self._lower] if self._lower >= 0 else None
        upper = self._ratios[self._upper] if self._upper < len(self._ratios) else None
        return RatioInterval(lower, upper, 1 - self.alpha)
