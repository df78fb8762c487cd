"""Kayenta's ClassifierSuite through gate.judge.kayenta.

Upstream: spinnaker/kayenta,
kayenta-judge/src/test/scala/com/netflix/kayenta/judge/ClassifierSuite.scala (data copied to
tests/judge/data/kayenta_suites.json). One test per upstream test, same name, parameters and
assertions; "either"/"increase"/"decrease" are MetricDirection, "remove"/"replace" NaNStrategy.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from gate.judge.kayenta import (
    Label,
    MannWhitneyClassifier,
    MeanInequalityClassifier,
    MetricClassification,
)
from tests.judge.reference import kayenta_arrays

SUITE = "ClassifierSuite"


def classify(
    test: str,
    direction: str = "either",
    nan_strategy: str = "remove",
    is_critical: bool = False,
    **params: Any,
) -> MetricClassification:
    data = kayenta_arrays(SUITE, test)
    classifier = MannWhitneyClassifier(**params)
    return classifier.classify(
        data["controlData"],
        data["experimentData"],
        direction,
        nan_strategy,
        is_critical=is_critical,
    )


BASIC: dict[str, Any] = {"tolerance": 0.10, "conf_level": 0.95}


@pytest.mark.parametrize(
    ("test", "direction", "label"),
    [
        ("Mann-Whitney Classifier Test: Pass Metric", "either", Label.PASS),
        ("Mann-Whitney Classifier Test: High Metric", "either", Label.HIGH),
        ("Mann-Whitney Classifier Test: Low Metric", "either", Label.LOW),
        ("Mann-Whitney Classifier Directional Test: Increase", "increase", Label.PASS),
        ("Mann-Whitney Classifier Directional Test: Decrease", "decrease", Label.PASS),
        ("Mann-Whitney Classifier Directional Test: Low Metric", "decrease", Label.LOW),
        ("Mann-Whitney Identical Populations", "decrease", Label.PASS),
        ("Mann-Whitney Leading Zero Identical Population", "decrease", Label.PASS),
        ("Mann-Whitney Majority Tied Observations", "either", Label.PASS),
        ("Mann-Whitney Tied Ranks", "either", Label.HIGH),
        ("Mann-Whitney Tied Ranks With Zeros", "either", Label.HIGH),
    ],
)
def test_tolerance_10_percent_at_95_percent(test: str, direction: str, label: Label) -> None:
    """ClassifierSuite tests built with MannWhitneyClassifier(tolerance = 0.10, confLevel = 0.95)
    and only a classification assertion (spinnaker/kayenta, ClassifierSuite.scala)."""
    assert classify(test, direction, **BASIC).classification is label


@pytest.mark.parametrize(
    "test",
    [
        "Mann-Whitney Classifier Directional Test: High Metric",
        "Mann-Whitney Classifier Test: High Metric (Large Input)",
    ],
)
def test_high_and_not_critical(test: str) -> None:
    """ClassifierSuite "Directional Test: High Metric" (increase) and "High Metric (Large
    Input)" (either, mostly-zero series): High, not critical."""
    direction = "increase" if "Directional" in test else "either"
    result = classify(test, direction, **BASIC)
    assert result.classification is Label.HIGH
    assert not result.critical


def test_tied_observations() -> None:
    """ClassifierSuite "Mann-Whitney Tied Observations": [1, 1, 1] against [1, 1] is Pass."""
    result = MannWhitneyClassifier(**BASIC).classify([1.0, 1.0], [1.0, 1.0, 1.0], "decrease")
    assert result.classification is Label.PASS


@pytest.mark.parametrize(
    ("test", "direction", "thresholds", "label"),
    [
        (
            "Mann-Whitney Classifier Test - Mean Ratio Effect Size: High",
            "either",
            (0.8, 1.2),
            "High",
        ),
        (
            "Mann-Whitney Classifier Test - Mean Ratio Effect Size: Low",
            "decrease",
            (0.8, 1.2),
            "Low",
        ),
        (
            "Mann-Whitney Classifier Test - Mean Ratio Effect Size: Pass",
            "either",
            (0.5, 1.0),
            "Pass",
        ),
        (
            "Mann-Whitney Classifier Test - Mean Ratio Effect Size: Pass (Large Input)",
            "either",
            (1.0, 5.0),
            "Pass",
        ),
    ],
)
def test_mean_ratio_effect_size(
    test: str, direction: str, thresholds: tuple[float, float], label: str
) -> None:
    """ClassifierSuite "Mean Ratio Effect Size" tests: effectSizeThresholds (decrease, increase)
    gate High and Low on the mean ratio experiment/control."""
    result = classify(test, direction, effect_size_thresholds=thresholds, **BASIC)
    assert result.classification == label


@pytest.mark.parametrize(
    ("test", "thresholds", "label"),
    [
        ("Mann-Whitney Classifier Test - CLES Effect Size: Pass", (0.5, 0.8), "Pass"),
        ("Mann-Whitney Classifier Test - CLES Effect Size: High", (0.2, 0.8), "High"),
        ("Mann-Whitney Classifier Test - CLES Effect Size: Low", (0.2, 0.8), "Low"),
    ],
)
def test_cles_effect_size(test: str, thresholds: tuple[float, float], label: str) -> None:
    """ClassifierSuite "CLES Effect Size" tests: tolerance 0.20, 98 %, effectSizeMeasure cles."""
    result = classify(
        test,
        tolerance=0.20,
        conf_level=0.98,
        effect_size_thresholds=thresholds,
        effect_size_measure="cles",
    )
    assert result.classification == label


HIGH_X = [20.0, 22.0, 21.0, 25.0, 30.0]
HIGH_Y = [1.0, 2.2, 1.1, 2.5, 3.0]


@pytest.mark.parametrize(
    ("params", "label", "critical"),
    [
        ({"critical_thresholds": (1.0, 1.2)}, Label.HIGH, True),  # Critical High
        (
            {"effect_size_thresholds": (1.0, 5.0), "critical_thresholds": (1.0, 13.0)},
            Label.HIGH,
            False,
        ),
        (
            {"effect_size_thresholds": (1.0, 13.0), "critical_thresholds": (1.0, 15.0)},
            Label.PASS,
            False,
        ),
        ({}, Label.HIGH, True),  # Critical High (Default Thresholds)
    ],
    ids=["critical high", "high", "pass", "critical high (default thresholds)"],
)
def test_critical_effect_size(params: dict[str, Any], label: Label, critical: bool) -> None:
    """ClassifierSuite "Critical Effect Size: Critical High / High / Pass / Critical High
    (Default Thresholds)": a critical metric is flagged only when its effect passes the
    critical threshold (mean ratio 12.04 here)."""
    classifier = MannWhitneyClassifier(**BASIC, **params)
    result = classifier.classify(HIGH_Y, HIGH_X, "either", is_critical=True)
    assert result.classification is label
    assert result.critical is critical


def test_critical_effect_size_critical_low() -> None:
    """ClassifierSuite "Critical Effect Size: Critical Low"."""
    classifier = MannWhitneyClassifier(**BASIC, critical_thresholds=(1.2, 1.0))
    result = classifier.classify(
        [10.0, 20.2, 10.1, 20.5, 30.0], [2.0, 2.0, 2.0, 2.0, 3.0], "either", is_critical=True
    )
    assert result.classification is Label.LOW
    assert result.critical


def test_missing_experiment_data() -> None:
    """ClassifierSuite "Mann-Whitney Missing Experiment Data": Nodata."""
    result = MannWhitneyClassifier(**BASIC).classify([1.0, 2.0, 3.0, 4.0, 5.0], [], "decrease")
    assert result.classification is Label.NODATA
    assert not result.critical


def test_missing_experiment_data_critical_metric() -> None:
    """ClassifierSuite "Mann-Whitney Missing Experiment Data: Critical Metric": Nodata, critical."""
    result = MannWhitneyClassifier(**BASIC).classify(
        [1.0, 2.0, 3.0, 4.0, 5.0], [], "decrease", is_critical=True
    )
    assert result.classification is Label.NODATA
    assert result.critical


def test_missing_experiment_data_with_nan_replacement() -> None:
    """ClassifierSuite "Mann-Whitney Missing Experiment Data with NaN Replacement": Pass."""
    result = MannWhitneyClassifier(**BASIC).classify(
        [1.0, 2.0, 3.0, 4.0, 5.0], [], "decrease", "replace"
    )
    assert result.classification is Label.PASS


def test_missing_data_reason_string() -> None:
    """ClassifierSuite "Mann-Whitney Missing Data: Reason String": a reason is given."""
    result = MannWhitneyClassifier(**BASIC).classify([], [], "decrease", is_critical=True)
    assert result.reason


@pytest.mark.parametrize(
    ("x", "y", "label"),
    [
        ([54.9, 54.5, 55.1, 55.6, 57.4], [0.0] * 5, Label.HIGH),
        ([0.0] * 5, [54.9, 54.5, 55.1, 55.6, 57.4], Label.LOW),
    ],
)
def test_zero_mean_with_effect_size(x: list[float], y: list[float], label: Label) -> None:
    """ClassifierSuite "Zero Mean: High / Low Metric with Effect Size": the mean ratio cannot be
    computed (NaN deviation), so the effect-size condition is skipped."""
    classifier = MannWhitneyClassifier(**BASIC, effect_size_thresholds=(0.8, 1.2))
    result = classifier.classify(y, x, "either")
    assert result.classification is label
    assert math.isnan(result.deviation)


def test_zero_mean_critical_metric() -> None:
    """ClassifierSuite "Mann-Whitney Zero Mean: Critical Metric" (NaNStrategy.Replace)."""
    result = classify(
        "Mann-Whitney Zero Mean: Critical Metric",
        "either",
        "replace",
        is_critical=True,
        critical_thresholds=(0.8, 1.2),
        **BASIC,
    )
    assert result.classification is Label.HIGH
    assert result.critical


def test_zero_mean_pass_metric() -> None:
    """ClassifierSuite "Mann-Whitney Zero Mean: Pass Metric": identical zeros, deviation 1.0."""
    classifier = MannWhitneyClassifier(**BASIC, effect_size_thresholds=(0.8, 1.2))
    result = classifier.classify([0.0] * 5, [0.0] * 5, "either")
    assert result.classification is Label.PASS
    assert result.deviation == 1.0


@pytest.mark.parametrize(
    ("x", "y", "label"),
    [
        ([10.0, 20.0, 30.0, 40.0, 50.0], [1.0, 2.0, 3.0, 4.0, 5.0], Label.HIGH),
        ([1.0, 2.0, 3.0, 4.0, 5.0], [10.0, 20.0, 30.0, 40.0, 50.0], Label.LOW),
        ([1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 3.0, 4.0, 5.0], Label.PASS),
    ],
)
def test_mean_inequality_classifier(x: list[float], y: list[float], label: Label) -> None:
    """ClassifierSuite "Mean Inequality Classifier Test: High / Low / Pass Metric"."""
    assert MeanInequalityClassifier().classify(y, x, "either").classification is label


# Beyond the upstream suite: what the old port got wrong, and gate's input handling.


def test_mostly_zero_error_rates_are_not_called_low() -> None:
    """[0]*7+[3] against [0]*7+[2] at 98 %: R's interval is about ±4e-5 around 0, so Pass."""
    result = MannWhitneyClassifier(conf_level=0.98).classify([0.0] * 7 + [2.0], [0.0] * 7 + [3.0])
    assert result.classification is Label.PASS
    assert result.interval is not None
    assert result.interval.lower < 0 < result.interval.upper


def test_nan_strategies() -> None:
    classifier = MannWhitneyClassifier(**BASIC)
    removed = classifier.classify([math.nan, math.nan], [math.nan])
    assert removed.classification is Label.NODATA
    replaced = classifier.classify(
        [math.nan, 1.0, 2.0], [math.nan, 1.0, 2.0], nan_strategy="replace"
    )
    assert replaced.classification is Label.PASS


def test_data_required_without_data_fails_the_metric() -> None:
    result = MannWhitneyClassifier().classify([1.0], [], is_data_required=True)
    assert result.classification is Label.NODATA_FAIL_METRIC


def test_constant_series_are_classified_without_noise() -> None:
    """Kayenta adds random noise to two constant series; the exact shift gives the same label,
    the same way every time."""
    classifier = MannWhitneyClassifier(**BASIC)
    results = {classifier.classify([1.0] * 5, [2.0] * 5).classification for _ in range(3)}
    assert results == {Label.HIGH}
    assert classifier.classify([2.0] * 5, [1.0] * 5).classification is Label.LOW


@pytest.mark.parametrize(
    ("field", "value"),
    [("direction", "up"), ("nan_strategy", "zero")],
)
def test_unknown_choices_are_refused(field: str, value: str) -> None:
    kwargs: dict[str, Any] = {field: value}
    with pytest.raises(ValueError, match=value):
        MannWhitneyClassifier().classify([1.0, 2.0], [1.0, 3.0], **kwargs)
