"""The canary judges through their public contract, `gate.judge.count_judge`."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.judge.judges import make_judge
from gate.judge import count_judge

WINDOWS = [(0.01, 30), (0.05, 30), (0.25, 30), (0.5, 30)]  # (canary share, windows) per stage


def simulate(
    judge_kind: str,
    *,
    runs: int,
    rps: float,
    p0: float,
    ratio: float,
    seed: int,
    spike: bool = False,
    **params: float,
) -> tuple[float, list[int]]:
    """Share of runs the judge fails, and canary requests seen before each failure."""
    if judge_kind == "oracle":
        params = {**params, "p0": p0, "ratio": ratio}
    rng = np.random.default_rng(seed)
    failed, exposure = 0, []
    for _ in range(runs):
        judge = make_judge(judge_kind, **params)
        seen = 0
        t = 0
        for share, windows in WINDOWS:
            for _ in range(windows):
                total = rng.poisson(rps * 10 * (1 + 0.5 * math.sin(2 * math.pi * t / 36)))
                t += 1
                canary = rng.binomial(total, share)
                base = total - canary
                boost = 20.0 if spike and 40 <= t < 46 else 1.0
                ce = rng.binomial(canary, min(1.0, ratio * p0 * boost))
                be = rng.binomial(base, min(1.0, p0 * boost))
                seen += canary
                if (
                    judge.update(
                        canary_errors=int(ce),
                        canary_requests=int(canary),
                        baseline_errors=int(be),
                        baseline_requests=int(base),
                    )
                    == "fail"
                ):
                    failed += 1
                    exposure.append(seen)
                    break
            else:
                continue
            break
    return failed / runs, exposure


def test_sequential_false_alarms_stay_below_alpha_however_often_it_looks() -> None:
    alpha = 0.05
    rate, _ = simulate("sequential", runs=1500, rps=200, p0=0.01, ratio=1.0, seed=1, alpha=alpha)
    assert rate <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / 1500)


def test_a_shared_error_spike_is_not_blamed_on_the_canary() -> None:
    alpha = 0.05
    rate, _ = simulate(
        "sequential", runs=1000, rps=200, p0=0.01, ratio=1.0, seed=2, spike=True, alpha=alpha
    )
    assert rate <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / 1000)
    # a per-arm absolute threshold does blame it
    flagger, _ = simulate(
        "threshold",
        runs=200,
        rps=200,
        p0=0.01,
        ratio=1.0,
        seed=2,
        spike=True,
        max_rate=0.02,
        threshold=1,
    )
    assert flagger > 0.5


def test_sequential_catches_a_regression_quickly() -> None:
    power, exposure = simulate(
        "sequential", runs=300, rps=200, p0=0.01, ratio=2.0, seed=3, alpha=0.01
    )
    assert power >= 0.99
    _, oracle_exposure = simulate(
        "oracle", runs=300, rps=200, p0=0.01, ratio=2.0, seed=3, alpha=0.01
    )
    assert np.median(exposure) <= 2.0 * np.median(oracle_exposure)


def test_zero_windows_change_nothing() -> None:
    judge = count_judge("sequential", alpha=0.01)
    for _ in range(100):
        assert (
            judge.update(canary_errors=0, canary_requests=0, baseline_errors=0, baseline_requests=0)
            == "continue"
        )
    assert judge.log_evidence == pytest.approx(0.0)  # type: ignore[attr-defined]


def test_only_harm_fails() -> None:
    judge = count_judge("sequential", alpha=0.01)
    for _ in range(200):  # the canary is far better than the baseline
        assert (
            judge.update(
                canary_errors=0, canary_requests=500, baseline_errors=50, baseline_requests=500
            )
            == "continue"
        )


def test_a_changing_split_is_accounted_for() -> None:
    # canary gets 50 % of traffic and 50 % of errors: equal rates, never a failure
    judge = count_judge("sequential", alpha=0.01)
    for share in [0.01, 0.05, 0.25, 0.5] * 50:
        n = 10_000
        c = int(n * share)
        assert (
            judge.update(
                canary_errors=int(c * 0.02),
                canary_requests=c,
                baseline_errors=int((n - c) * 0.02),
                baseline_requests=n - c,
            )
            == "continue"
        )


@pytest.mark.parametrize("kind", ["sequential", "threshold", "ratio", "kayenta"])
def test_impossible_counts_are_refused(kind: str) -> None:
    judge = make_judge(kind)
    with pytest.raises(ValueError, match="more errors than requests"):
        judge.update(canary_errors=5, canary_requests=4, baseline_errors=0, baseline_requests=1)
    with pytest.raises(ValueError, match="cannot be negative"):
        judge.update(canary_errors=-1, canary_requests=4, baseline_errors=0, baseline_requests=1)


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown count judge 'bayes'"):
        count_judge("bayes")


def test_comparison_judges_are_not_part_of_gate() -> None:
    """Flagger's, Argo's, per-window Kayenta and the oracle live in benchmarks/judge only."""
    for kind in ("threshold", "ratio", "kayenta", "oracle"):
        with pytest.raises(ValueError, match="unknown count judge"):
            count_judge(kind)


class RangeFake:
    """A MetricsProvider whose range queries return one series per query name."""

    name = "fake"

    def __init__(self, series: dict[str, list[tuple[float, float]]]) -> None:
        self.series = series

    def query(self, query: str, at: object = None) -> object:
        raise AssertionError("not used")

    def query_range(
        self, query: str, start: object, end: object, step_seconds: float
    ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        return [({}, self.series[query])] if query in self.series else []

    def close(self) -> None:
        pass


def _range(canary_rate: float, minutes: int = 60) -> RangeFake:
    t = [1_700_000_000.0 + 60 * i for i in range(minutes)]
    return RangeFake(
        {
            "ce": [(x, 1000 * canary_rate) for x in t],
            "cr": [(x, 1000.0) for x in t],
            "be": [(x, 90.0) for x in t],
            "br": [(x, 9000.0) for x in t],
        }
    )


def test_judge_range_over_history() -> None:
    from datetime import UTC, datetime

    from gate.judge.history import judge_range

    queries = {
        "canary_errors": "ce",
        "canary_requests": "cr",
        "baseline_errors": "be",
        "baseline_requests": "br",
    }
    now = datetime.now(UTC)
    good = judge_range(_range(0.01), queries, now, now, 60)  # type: ignore[arg-type]
    assert (good.verdict, good.windows, good.failed_at) == ("pass", 60, None)
    assert good.canary_rate == pytest.approx(0.01)
    bad = judge_range(_range(0.03), queries, now, now, 60)  # type: ignore[arg-type]
    assert bad.verdict == "fail"
    assert bad.failed_at is not None
    assert bad.windows == 60


def test_gate_judge_bad_input_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from gate.cli import main

    base = [
        "judge",
        "--url",
        "http://127.0.0.1:9",
        "--canary-errors",
        "a",
        "--canary-requests",
        "b",
        "--baseline-errors",
        "c",
        "--baseline-requests",
        "d",
    ]
    assert main([*base, "--last", "30 minutes"]) == 2
    assert "--last: '30 minutes' is not a duration" in capsys.readouterr().err
    assert main(base) == 2
    assert "give either --last SPAN or --start ISO" in capsys.readouterr().err


def buckets(
    latencies: np.ndarray, bounds: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0)
) -> dict[float, float]:
    out = {b: float((latencies <= b).sum()) for b in bounds}
    out[math.inf] = float(len(latencies))
    return out


def test_latency_judge_flags_a_slower_canary_and_not_an_equal_one() -> None:
    from gate.judge.latency import latency_judge, slower_than

    assert slower_than({0.1: 50, 0.5: 90, math.inf: 100}, 0.5) == (10, 100)
    rng = np.random.default_rng(7)
    same_failures = 0
    for _ in range(200):
        judge = latency_judge(threshold=0.5, alpha=0.01)
        for _ in range(60):
            canary = rng.lognormal(-1.5, 0.6, size=100)
            base = rng.lognormal(-1.5, 0.6, size=900)
            if judge.update(canary_buckets=buckets(canary), baseline_buckets=buckets(base)) == (
                "fail"
            ):
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
    assert "fail" in verdicts


def test_the_benchmark_harness_runs_a_small_scenario() -> None:
    from benchmarks.judge.run import Scenario, report, run_scenario

    result = run_scenario((Scenario(rps=200, p0=0.01, ratio=3.0, spike=True), 20, 5))
    assert result["judges"]["sequential"]["failed"] == 20  # a 3x regression is always caught
    good = run_scenario((Scenario(rps=200, p0=0.01, ratio=1.0, spike=False), 20, 6))
    assert good["judges"]["oracle"]["failed"] == 0  # not run for good releases
    text = report([good, result], 20, 1.0)
    assert "| 200 | 1.0% | no | 0.0% |" in text
    assert "| 200 | 1.0% | 3 | yes | 100% · " in text
