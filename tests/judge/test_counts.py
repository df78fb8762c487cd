"""The judges' shared vocabulary: Counts, Verdict, JudgeKind and the two forms of update()."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.judge.judges import BASELINES, make_judge
from gate.judge import NO_COUNTS, Counts, JudgeKind, Verdict, count_judge


def test_counts_add_up_and_give_rates() -> None:
    total = Counts(1, 100, 5, 900) + Counts(2, 100, 4, 900)
    assert total == Counts(3, 200, 9, 1800)
    assert (total.errors, total.requests) == (12, 2000)
    assert total.canary_rate == pytest.approx(0.015)
    assert total.baseline_rate == pytest.approx(0.005)
    assert NO_COUNTS.canary_rate is None
    assert NO_COUNTS.baseline_rate is None
    assert total.as_dict() == {
        "canary_errors": 3,
        "canary_requests": 200,
        "baseline_errors": 9,
        "baseline_requests": 1800,
    }


def test_counts_are_frozen() -> None:
    counts = Counts(0, 1, 0, 1)
    with pytest.raises(AttributeError):
        counts.canary_errors = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((5, 4, 0, 1), ValueError, "more errors than requests"),
        ((0, 4, 2, 1), ValueError, "more errors than requests"),
        ((-1, 4, 0, 1), ValueError, "canary_errors is -1; counts cannot be negative"),
        ((0, 4, 0, -1), ValueError, "baseline_requests is -1"),
        ((0, 4.0, 0, 1), TypeError, "canary_requests must be an int, not float"),
        ((True, 4, 0, 1), TypeError, "canary_errors must be an int, not bool"),
    ],
)
def test_impossible_counts_are_refused(
    args: tuple[Any, Any, Any, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Counts(*args)


@pytest.mark.parametrize("kind", ["sequential", *BASELINES])
def test_update_takes_a_counts_or_the_four_keywords(kind: str) -> None:
    """BENCHMARK.md's keyword form and the record give the same verdicts."""
    params: dict[str, Any] = {"p0": 0.01, "ratio": 2.0} if kind == "oracle" else {}
    by_record, by_keyword = make_judge(kind, **params), make_judge(kind, **params)
    for i in range(200):
        window = Counts(i % 3 + 2, 100, 1, 900)
        verdict = by_record.update(window)
        assert verdict in (Verdict.FAIL, Verdict.CONTINUE, Verdict.PASS)
        assert verdict == by_keyword.update(
            canary_errors=window.canary_errors,
            canary_requests=window.canary_requests,
            baseline_errors=window.baseline_errors,
            baseline_requests=window.baseline_requests,
        )


def test_update_refuses_mixed_or_partial_forms() -> None:
    judge = count_judge("sequential")
    with pytest.raises(TypeError, match="not both"):
        judge.update(Counts(0, 1, 0, 1), canary_errors=0)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"missing \['baseline_errors', 'baseline_requests'\]"):
        judge.update(canary_errors=0, canary_requests=1)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="takes a Counts, not tuple"):
        judge.update((0, 1, 0, 1))  # type: ignore[call-overload]


def test_verdicts_and_kinds_are_plain_strings() -> None:
    assert [str(v) for v in Verdict] == ["pass", "fail", "continue", "inconclusive"]
    assert Verdict("fail") is Verdict.FAIL
    assert JudgeKind("sequential") is JudgeKind.SEQUENTIAL
    assert {str(k) for k in JudgeKind} == {"sequential", "sequential-latency", "mann-whitney"}
