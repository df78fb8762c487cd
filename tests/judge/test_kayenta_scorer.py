"""Kayenta's ScorerSuite through gate.judge.kayenta.WeightedSumScorer.

Upstream: spinnaker/kayenta,
kayenta-judge/src/test/scala/com/netflix/kayenta/judge/ScorerSuite.scala.
One test per upstream test, same name, metrics, groups and weights.
"""

from __future__ import annotations

import pytest

from gate.judge.kayenta import (
    AnalysisResult,
    Label,
    ScoreLabel,
    WeightedSumScorer,
    classify_score,
    score_canary,
)


def metric(name: str, label: Label, group: str, critical: bool = False) -> AnalysisResult:
    return AnalysisResult(name, label, (group,), critical=critical)


def test_single_metric_pass() -> None:
    """ScorerSuite "Weighted Sum Group Scorer: Single Metric Pass"."""
    scores = WeightedSumScorer({}).score([metric("test-metric-pass", Label.PASS, "test-group")])
    assert scores.summary_score == 100.0


def test_single_metric_fail() -> None:
    """ScorerSuite "Weighted Sum Group Scorer: Single Metric Fail"."""
    scores = WeightedSumScorer({}).score([metric("test-metric-high", Label.HIGH, "test-group")])
    assert scores.summary_score == 0.0


def test_single_group_nodata() -> None:
    """ScorerSuite "Weighted Sum Group Scorer: Single group Nodata"."""
    scores = WeightedSumScorer({}).score(
        [metric("test-metric-nodata", Label.NODATA, "test-group-nodata")]
    )
    assert len(scores.group_scores) == 1
    assert scores.group_scores[0].score == 0.0
    assert scores.summary_score == 0.0


def test_two_groups_one_pass_one_nodata() -> None:
    """ScorerSuite "Two Groups, one Pass, one Nodata": a group without data counts as 100."""
    scores = WeightedSumScorer({}).score(
        [
            metric("test-metric-pass1a", Label.PASS, "test-group-pass"),
            metric("test-metric-pass1b", Label.PASS, "test-group-pass"),
            metric("test-metric-nodata", Label.NODATA, "test-group-nodata"),
        ]
    )
    assert len(scores.group_scores) == 2
    assert sorted(g.score for g in scores.group_scores) == [0.0, 100.0]
    assert scores.summary_score == 100.0


def test_one_group_two_metrics() -> None:
    """ScorerSuite "One Group, Two Metrics"."""
    scores = WeightedSumScorer({}).score(
        [
            metric("test-metric-pass", Label.PASS, "test-group"),
            metric("test-metric-high", Label.HIGH, "test-group"),
        ]
    )
    assert scores.summary_score == 50.0


def test_one_group_three_metrics() -> None:
    """ScorerSuite "One Group, Three Metrics": 33.33, rounded to two places."""
    scores = WeightedSumScorer({}).score(
        [
            metric("test-metric-pass", Label.PASS, "test-group"),
            metric("test-metric-high", Label.HIGH, "test-group"),
            metric("test-metric-low", Label.LOW, "test-group"),
        ]
    )
    assert scores.summary_score == 33.33


def test_two_groups_three_metrics() -> None:
    """ScorerSuite "Two Groups, Three Metrics": weights 75/25."""
    scores = WeightedSumScorer({"group-1": 75.0, "group-2": 25.0}).score(
        [
            metric("test-metric-pass-1", Label.PASS, "group-1"),
            metric("test-metric-pass-2", Label.PASS, "group-1"),
            metric("test-metric-fail", Label.HIGH, "group-2"),
        ]
    )
    assert scores.summary_score == 75.0


def test_two_groups_three_metrics_equal_weight() -> None:
    """ScorerSuite "Two Groups, Three Metrics (Equal Weight)"."""
    scores = WeightedSumScorer({"group-1": 50.0, "group-2": 50.0}).score(
        [
            metric("test-metric-pass", Label.PASS, "group-1"),
            metric("test-metric-fail-1", Label.HIGH, "group-1"),
            metric("test-metric-fail-2", Label.HIGH, "group-2"),
        ]
    )
    assert scores.summary_score == 25.0


def test_two_groups_three_metrics_equal_weight_one_nodata() -> None:
    """ScorerSuite "Two Groups, Three Metrics (Equal Weight), one NoData": Nodata is not
    counted in its group's score."""
    scores = WeightedSumScorer({"group-1": 50.0, "group-2": 50.0}).score(
        [
            metric("test-metric-pass", Label.PASS, "group-1"),
            metric("test-metric-nodata", Label.NODATA, "group-1"),
            metric("test-metric-fail", Label.HIGH, "group-2"),
        ]
    )
    assert scores.summary_score == 50.0


def test_two_metrics_one_good_one_critical_fail() -> None:
    """ScorerSuite "Two Metrics, one good (normal), one fail (critical)": score 0."""
    scores = WeightedSumScorer({}).score(
        [
            metric("test-metric-pass", Label.PASS, "test-group"),
            metric("test-metric-high", Label.HIGH, "test-group", critical=True),
        ]
    )
    assert scores.summary_score == 0.0


def test_two_metrics_one_low_one_critical_good() -> None:
    """ScorerSuite "Two Metrics, one low (normal), one good (critical)": 50."""
    scores = WeightedSumScorer({}).score(
        [
            metric("test-metric-low", Label.LOW, "test-group"),
            metric("test-metric-pass2", Label.PASS, "test-group", critical=True),
        ]
    )
    assert scores.summary_score == 50.0


def test_two_metrics_one_good_one_critical_nodata() -> None:
    """ScorerSuite "Two Metrics, one good (normal), one nodata (critical)": score 0."""
    scores = WeightedSumScorer({}).score(
        [
            metric("test-metric-pass", Label.PASS, "test-group"),
            metric("test-metric-nodata", Label.NODATA, "test-group", critical=True),
        ]
    )
    assert scores.summary_score == 0.0


def test_two_groups_unequal_weight_four_metrics() -> None:
    """ScorerSuite "Two Groups (Unequal Weight), Four Metrics": 15 % × 1/3 + 85 % × 0 = 5."""
    scores = WeightedSumScorer({"group1": 15.0, "group2": 85.0}).score(
        [
            metric("test-metric-high", Label.HIGH, "group1"),
            metric("test-metric-low", Label.LOW, "group1"),
            metric("test-metric-pass", Label.PASS, "group1"),
            metric("test-metric-pass2", Label.HIGH, "group2"),
        ]
    )
    assert scores.summary_score == 5.0


# Beyond the upstream suite: the rules of WeightedSumScorer.scala it does not exercise.


def test_unlisted_groups_share_the_weight_left_over() -> None:
    """WeightedSumScorer.scala: a group without a weight gets (100 − Σ listed) / #unlisted."""
    scores = WeightedSumScorer({"latency": 60.0}).score(
        [
            metric("p99", Label.HIGH, "latency"),
            metric("errors", Label.PASS, "errors"),
            metric("cpu", Label.PASS, "saturation"),
        ]
    )
    assert scores.summary_score == 40.0  # 60·0 + 20·1 + 20·1


def test_half_the_metrics_without_data_fails_the_canary() -> None:
    """WeightedSumScorer.scala: 50 % or more Nodata scores 0 with a reason."""
    scores = WeightedSumScorer({}).score(
        [metric("a", Label.NODATA, "g"), metric("b", Label.PASS, "g")]
    )
    assert scores.summary_score == 0.0
    assert scores.reason is not None
    assert "NODATA" in scores.reason


def test_a_metric_in_two_groups_counts_in_both() -> None:
    scores = WeightedSumScorer({}).score(
        [AnalysisResult("a", Label.HIGH, ("g1", "g2")), metric("b", Label.PASS, "g1")]
    )
    assert {g.name: g.score for g in scores.group_scores} == {"g1": 50.0, "g2": 0.0}
    assert scores.summary_score == 25.0


def test_missing_required_data_fails_its_group() -> None:
    scores = WeightedSumScorer({}).score(
        [metric("a", Label.NODATA_FAIL_METRIC, "g"), metric("b", Label.PASS, "g")]
    )
    assert scores.summary_score == 50.0


@pytest.mark.parametrize(
    ("score", "label"),
    [
        (95.0, ScoreLabel.PASS),
        (94.99, ScoreLabel.MARGINAL),
        (75.0, ScoreLabel.MARGINAL),
        (74.99, ScoreLabel.FAIL),
    ],
)
def test_threshold_score_classifier(score: float, label: ScoreLabel) -> None:
    """ThresholdScoreClassifier.scala: Pass at ≥ pass, Marginal at ≥ marginal, else Fail."""
    assert classify_score(score, 95.0, 75.0) is label


def test_muted_metrics_are_left_out() -> None:
    """ScoringHelper.scala scores only metrics that are not muted."""
    results = [
        metric("a", Label.PASS, "g"),
        AnalysisResult("b", Label.HIGH, ("g",), muted=True),
    ]
    scores, label = score_canary(results)
    assert (scores.summary_score, label) == (100.0, ScoreLabel.PASS)
