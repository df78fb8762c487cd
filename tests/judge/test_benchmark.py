"""The judge benchmark's harness and the judges gate is compared with (benchmarks/judge)."""

from __future__ import annotations

import pytest

from benchmarks.judge.judges import make_judge
from benchmarks.judge.run import Scenario, report, run_scenario
from gate.judge import Counts, Verdict, count_judge


def test_the_benchmark_harness_runs_a_small_scenario() -> None:
    result = run_scenario((Scenario(rps=200, p0=0.01, ratio=3.0, spike=True), 20, 5))
    assert result["judges"]["sequential"]["failed"] == 20  # a 3x regression is always caught
    good = run_scenario((Scenario(rps=200, p0=0.01, ratio=1.0, spike=False), 20, 6))
    assert "oracle" not in good["judges"]  # no regression to catch: nothing to compare with
    assert good["judges"]["sequential"]["passed"] >= 18  # proven within 1.5 ...
    assert all(w < 120 for w in good["judges"]["sequential"]["pass_windows"])  # ... early
    text = report([good, result], 20, 1.0)
    assert "| 200 | 1.0% | no | 0.0% |" in text
    assert "| 200 | 1.0% | 3 | yes | 100% · " in text
    assert "| 200 | 1.0% | 3 | yes | 0.0% | 0.0% |" in text  # no false promotion of a x3


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
        make_judge(kind, **({"p0": 0.01, "ratio": 2.0} if kind == "oracle" else {}))


def test_kayenta_per_window_judges_each_stage_with_the_port() -> None:
    """At each stage's end, Kayenta's classifier on per-window error rates; High fails."""
    judge = make_judge("kayenta", windows_per_stage=10)
    verdicts = [judge.update(Counts(5 + i % 3, 100, 10 + i % 4, 1000)) for i in range(10)]
    assert verdicts[:9] == [Verdict.CONTINUE] * 9
    assert verdicts[9] is Verdict.FAIL
    mostly_zero = make_judge("kayenta", windows_per_stage=8)
    rows = [Counts(0, 100, 0, 1000)] * 7 + [Counts(3, 100, 20, 1000)]
    assert [mostly_zero.update(r) for r in rows][-1] is Verdict.CONTINUE
