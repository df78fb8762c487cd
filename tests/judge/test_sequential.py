"""The sequential count judge: false alarms, power, proof of safety and its confidence sequence."""

from __future__ import annotations

import itertools
import statistics

import numpy as np
import pytest

from benchmarks.judge.run import Scenario, traffic
from gate.judge import Counts, ProvingJudge, Verdict, count_judge
from gate.judge.sequential import RatioInterval, SequentialCountJudge
from tests.judge.simulate import allowed, simulate


def test_false_alarms_stay_below_alpha_however_often_it_looks() -> None:
    alpha, runs = 0.05, 600
    good = simulate("sequential", Scenario(200, 0.01, 1.0, False), runs, seed=1, alpha=alpha)
    assert good.fail_rate <= allowed(alpha, runs)


def test_a_shared_error_spike_is_not_blamed_on_the_canary() -> None:
    alpha, runs = 0.05, 400
    spiky = Scenario(200, 0.01, 1.0, True)
    assert simulate("sequential", spiky, runs, seed=2, alpha=alpha).fail_rate <= allowed(
        alpha, runs
    )
    # a per-arm absolute threshold does blame it
    flagger = simulate("threshold", spiky, 200, seed=2, max_rate=0.02, threshold=1)
    assert flagger.fail_rate > 0.5


def test_a_regression_is_caught_close_to_the_oracle() -> None:
    bad = Scenario(200, 0.01, 2.0, False)
    judge = simulate("sequential", bad, 300, seed=3, alpha=0.01)
    oracle = simulate("oracle", bad, 300, seed=3, p0=0.01, ratio=2.0, alpha=0.01)
    assert judge.fail_rate >= 0.99
    assert statistics.median(judge.exposure) <= 1.5 * statistics.median(oracle.exposure)


def test_a_good_canary_is_proven_within_tolerance_early() -> None:
    """At 2,000 rps and 1 % errors, "ratio ≤ 1.5" is proven long before the fixed schedule
    of 120 windows ends."""
    good = simulate(
        "sequential", Scenario(2000, 0.01, 1.0, False), 100, seed=4, alpha=0.01, max_ratio=1.5
    )
    assert good.pass_rate >= 0.95  # the rest are false alarms (≤ α) or late proofs
    assert statistics.median(good.pass_windows) <= 40


def test_a_regression_beyond_tolerance_is_not_promoted() -> None:
    """A canary exactly at the tolerance is as hard to tell apart as any: it may be proven
    within 1.5 at most α of the time."""
    alpha, runs = 0.05, 400
    edge = simulate(
        "sequential", Scenario(2000, 0.01, 1.5, False), runs, seed=5, alpha=alpha, max_ratio=1.5
    )
    assert edge.pass_rate <= allowed(alpha, runs)
    double = simulate(
        "sequential", Scenario(200, 0.01, 2.0, False), runs, seed=6, alpha=alpha, max_ratio=1.5
    )
    assert double.pass_rate <= allowed(alpha, runs)


def feed(judge: SequentialCountJudge, windows: list[Counts]) -> list[RatioInterval]:
    out = []
    for w in windows:
        judge.update(w)
        out.append(judge.interval)
    return out


def test_the_interval_narrows_and_never_widens() -> None:
    judge = SequentialCountJudge(alpha=0.01)
    assert judge.interval == RatioInterval(None, None, 0.99)
    windows = [Counts(2 + i % 5, 500, 27 + i % 19, 4500) for i in range(100)]  # 0.8 % both
    intervals = feed(judge, windows)
    for before, after in itertools.pairwise(intervals):
        if before.lower is not None:
            assert after.lower is not None
            assert after.lower >= before.lower
        if before.upper is not None:
            assert after.upper is not None
            assert after.upper <= before.upper
    final = intervals[-1]
    assert final.lower is not None
    assert final.upper is not None
    assert final.lower < 1.0 < final.upper  # the canary's rate is the baseline's here
    assert final.upper < 1.5


def test_the_interval_covers_the_true_ratio() -> None:
    """Each bound is wrong at most α of the time, over the whole run."""
    alpha, runs, misses = 0.05, 200, {"lower": 0, "upper": 0}
    for ratio, seed in ((1.0, 7), (3.0, 8)):
        rng = np.random.default_rng(seed)
        for _ in range(runs):
            judge = SequentialCountJudge(alpha=alpha)
            for row in traffic(rng, Scenario(200, 0.05, ratio, False)).tolist():
                judge.update(Counts(*row))
            interval = judge.interval
            misses["lower"] += interval.lower is not None and interval.lower > ratio
            misses["upper"] += interval.upper is not None and interval.upper < ratio
    assert misses["lower"] <= allowed(alpha, 2 * runs) * 2 * runs
    assert misses["upper"] <= allowed(alpha, 2 * runs) * 2 * runs


def test_pass_needs_a_tolerance_and_fail_takes_precedence() -> None:
    no_tolerance = SequentialCountJudge(alpha=0.01)
    for _ in range(200):
        assert no_tolerance.update(Counts(50, 5000, 50, 5000)) is Verdict.CONTINUE
    assert not no_tolerance.proven
    judge = SequentialCountJudge(alpha=0.01, max_ratio=1.5)
    verdicts = [judge.update(Counts(50, 5000, 50, 5000)) for _ in range(200)]
    assert verdicts[-1] is Verdict.PASS
    assert judge.proven_at == verdicts.index(Verdict.PASS) + 1
    # ... then the canary turns out worse than the baseline after all: that is what counts
    while judge.update(Counts(80, 5000, 50, 5000)) is not Verdict.FAIL:
        pass
    assert judge.failed
    assert judge.proven
    assert judge.failed_at is not None
    assert judge.failed_at > judge.proven_at
    assert judge.update(Counts(0, 5000, 50, 5000)) is Verdict.FAIL  # final


def test_zero_windows_change_nothing() -> None:
    judge = count_judge("sequential", alpha=0.01)
    for _ in range(100):
        assert judge.update(Counts(0, 0, 0, 0)) is Verdict.CONTINUE
    assert isinstance(judge, SequentialCountJudge)
    assert judge.log_evidence == pytest.approx(0.0)
    assert judge.estimate is None
    assert judge.interval == RatioInterval(None, None, 0.99)
    assert judge.windows == 100


def test_only_harm_fails() -> None:
    judge = count_judge("sequential", alpha=0.01)
    for _ in range(200):  # the canary is far better than the baseline
        assert judge.update(Counts(0, 500, 50, 500)) is Verdict.CONTINUE


def test_a_changing_split_is_accounted_for() -> None:
    """The canary gets each stage's share of traffic and the same share of errors."""
    judge = count_judge("sequential", alpha=0.01)
    for share in [0.01, 0.05, 0.25, 0.5] * 50:
        n = 10_000
        c = int(n * share)
        assert judge.update(Counts(int(c * 0.02), c, int((n - c) * 0.02), n - c)) in (
            Verdict.CONTINUE,
            Verdict.PASS,
        )


def test_estimate_and_totals() -> None:
    judge = SequentialCountJudge(alpha=0.01)
    for _ in range(50):
        judge.update(Counts(40, 1000, 20, 1000))
    assert judge.estimate == pytest.approx(2.0, rel=0.04)
    assert judge.totals == Counts(2000, 50_000, 1000, 50_000)
    assert judge.failed


@pytest.mark.parametrize(
    ("interval", "text"),
    [
        (RatioInterval(None, 1.31, 0.99), "ratio ≤ 1.31 with 99 % confidence"),
        (RatioInterval(1.42, None, 0.99), "ratio ≥ 1.42 with 99 % confidence"),
        (RatioInterval(0.8, 1.2, 0.95), "ratio ≥ 0.8 and ratio ≤ 1.2 with 95 % confidence"),
        (RatioInterval(None, None, 0.99), "ratio not bounded yet at 99 % confidence"),
    ],
)
def test_interval_wording(interval: RatioInterval, text: str) -> None:
    assert interval.describe() == text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"alpha": 0.0}, "alpha must be between 0 and 1"),
        ({"max_ratio": 1.0}, "max_ratio must be above 1"),
        ({"harm_prior": ((1.5, 2.0, -1.0),)}, "non-negative"),
        ({"safety_prior": ((2.0, 1.5, 1.0),)}, "at least 1 and increasing"),
        ({"harm_prior": ((1.5, 2.0, 0.0),)}, "not all be zero"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SequentialCountJudge(**params)  # type: ignore[arg-type]


def test_what_a_rollout_reads_to_end_a_stage_early() -> None:
    """The ProvingJudge protocol: count_judge gives verdict, proven, failed, interval,
    totals and windows, all typed (this test is also checked by mypy)."""
    judge: ProvingJudge = count_judge("sequential", alpha=0.01, max_ratio=1.5)
    while not judge.proven:
        judge.update(Counts(20, 2000, 180, 18000))
    assert judge.verdict is Verdict.PASS
    assert not judge.failed
    assert judge.interval.upper is not None
    assert judge.interval.upper <= 1.5
    assert judge.totals.canary_requests == 2000 * judge.windows
