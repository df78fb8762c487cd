"""An anytime-valid sequential test that a canary's error rate is no worse than its baseline's.

Given that an error happened in a window, under the null hypothesis of equal error rates it
came from the canary with probability ρ, the canary's share of that window's requests — however
the overall rate moves (traffic swings, an upstream outage hitting both arms alike). If the
canary's rate is ``r`` times the baseline's, that probability is θ = rρ / (rρ + 1 − ρ).

For each ``r`` on a grid of harmful ratios (r > 1), the product over windows of the binomial
likelihood ratios L(θ)/L(ρ) is a test martingale under the null, also when ρ changes from one
window to the next; so is their average under a prior over ``r`` (a mixture). By Ville's
inequality the mixture ever reaching 1/α has probability at most α under the null, however
often it is looked at (Lindon et al., KDD 2022; Lindon & Malek, NeurIPS 2022). Only harm
fails: the alternatives are r > 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from gate.judge import Counts, Verdict, WindowJudge

DEFAULT_RATIOS = (1.25, 1.5, 2.0, 3.0, 5.0, 10.0)
# More prior weight on small ratios: they need the most evidence, while large ones are caught
# fast whatever their weight.
DEFAULT_WEIGHTS = (3.0, 3.0, 2.0, 1.0, 1.0, 1.0)


class SequentialCountJudge(WindowJudge):
    def __init__(
        self,
        *,
        alpha: float = 0.01,
        ratios: Sequence[float] = DEFAULT_RATIOS,
        weights: Sequence[float] | None = None,
    ) -> None:
        if not 0 < alpha < 1:
            raise ValueError("alpha must be between 0 and 1")
        if not ratios or any(r <= 1 for r in ratios):
            raise ValueError("ratios must be harmful ratios above 1")
        if weights is None:
            weights = DEFAULT_WEIGHTS if tuple(ratios) == DEFAULT_RATIOS else [1.0] * len(ratios)
        w = list(weights)
        if len(w) != len(ratios) or any(x <= 0 for x in w):
            raise ValueError("one positive weight per ratio")
        total = sum(w)
        self.alpha = alpha
        self.ratios = tuple(float(r) for r in ratios)
        self._log_weights = [math.log(x / total) for x in w]
        self._log_lr = [0.0] * len(ratios)  # log Π L(θ_r)/L(ρ), one per ratio
        self.threshold = math.log(1 / alpha)
        self.failed = False

    @property
    def log_evidence(self) -> float:
        """log of the mixture e-value so far."""
        terms = [w + x for w, x in zip(self._log_weights, self._log_lr, strict=True)]
        top = max(terms)
        return top + math.log(sum(math.exp(t - top) for t in terms))

    def observe(self, counts: Counts) -> Verdict:
        if self.failed:
            return Verdict.FAIL
        canary_errors, canary_requests = counts.canary_errors, counts.canary_requests
        baseline_errors, baseline_requests = counts.baseline_errors, counts.baseline_requests
        errors = canary_errors + baseline_errors
        requests = canary_requests + baseline_requests
        if errors and canary_requests and baseline_requests:
            rho = canary_requests / requests
            for i, r in enumerate(self.ratios):
                theta = r * rho / (r * rho + 1 - rho)
                self._log_lr[i] += canary_errors * math.log(theta / rho) + baseline_errors * (
                    math.log((1 - theta) / (1 - rho))
                )
            if self.log_evidence >= self.threshold:
                self.failed = True
                return Verdict.FAIL
        return Verdict.CONTINUE
