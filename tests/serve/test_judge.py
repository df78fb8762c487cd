"""``POST /v1/judge`` in-process, over a fake of gate's MetricsProvider interface: the request's
validation, the Prometheus allow-list, and the answer Argo Rollouts' ``web`` provider reads.

Argo Rollouts (argoproj/argo-rollouts ``metricproviders/webmetric/webmetric.go``): a non-2xx
answer is a measurement *Error*; a 2xx JSON body becomes ``result`` (``jsonPath`` defaults to
``{$}``), judged by ``successCondition``/``failureCondition`` (``docs/analysis/web.md``). So
every verdict is a 200 and only errors are not.
"""

from __future__ import annotations

from typing import Any

import pytest

from gate.errors import ProviderRejected, ProviderUnavailable
from tests.serve.conftest import PROM, MakeClient
from tests.serve.fakes import RangeMetrics
from tests.serve.test_flagger import metrics

REQUEST: dict[str, Any] = {
    "canaryErrors": "canary_errors",
    "canaryRequests": "canary_requests",
    "baselineErrors": "baseline_errors",
    "baselineRequests": "baseline_requests",
    "last": "30m",
    "step": "1m",
    "alpha": 0.01,
}


def test_a_five_times_worse_canary_fails_with_its_evidence(make_client: MakeClient) -> None:
    fake = metrics(0.05)
    r = make_client(metrics=fake).post("/v1/judge", json=REQUEST)
    assert r.status_code == 200
    body = r.json()
    assert body["verdict"] == "fail"
    assert body["failed_at"] is not None
    assert body["alpha"] == 0.01
    assert body["windows"] == 31  # a step at each end of the 30 minutes
    assert body["totals"]["canary_requests"] == 31_000
    assert body["rates"] == {"canary": pytest.approx(0.05), "baseline": pytest.approx(0.01)}
    assert body["ratio"]["lower"] > 1
    assert body["reason"].startswith("canary errors significantly above the baseline's")
    assert body["range"]["step"] == 60.0
    # the four queries asked for the last 30 minutes in 1-minute steps
    assert sorted(q for q, *_ in fake.calls) == sorted(REQUEST[k] for k in list(REQUEST)[:4])
    assert {(round(end - start), step) for _, start, end, step in fake.calls} == {(1800, 60.0)}


def test_an_equal_canary_with_enough_data_passes(make_client: MakeClient) -> None:
    """Proven within maxRatio (1.5 by default): the ratio's upper bound is at most 1.5."""
    r = make_client(metrics=metrics(0.01)).post("/v1/judge", json=REQUEST)
    assert r.status_code == 200
    body = r.json()
    assert body["verdict"] == "pass"
    assert body["max_ratio"] == 1.5
    assert body["ratio"]["upper"] <= 1.5


def test_an_equal_canary_with_little_data_is_inconclusive(make_client: MakeClient) -> None:
    body = {**REQUEST, "last": "3m"}
    r = make_client(metrics=metrics(0.01)).post("/v1/judge", json=body)
    assert r.json()["verdict"] == "inconclusive"


def test_max_ratio_is_the_tolerance(make_client: MakeClient) -> None:
    client = make_client(metrics=metrics(0.01))
    strict = client.post("/v1/judge", json={**REQUEST, "maxRatio": 1.01}).json()
    assert (strict["verdict"], strict["max_ratio"]) == ("inconclusive", 1.01)


def test_defaults_last_30m_step_1m_alpha_1_percent(make_client: MakeClient) -> None:
    fake = metrics(0.01)
    body = {k: REQUEST[k] for k in list(REQUEST)[:4]}
    r = make_client(metrics=fake).post("/v1/judge", json=body)
    assert r.json()["alpha"] == 0.01
    assert {(round(end - start), step) for _, start, end, step in fake.calls} == {(1800, 60.0)}


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"canaryErrors": None}, ["<request>:1: canaryErrors: required field is missing"]),
        ({"canaryRequests": ""}, ["<request>:1: canaryRequests: expected a PromQL query (a "
                                  "non-empty string)"]),
        ({"last": "30 minutes"}, ["<request>:1: last: '30 minutes' is not a duration such as "
                                  "500ms, 30s, 5m or 1h30m"]),
        ({"step": "0s"}, ["<request>:1: step: 0s is shorter than the minimum of 1s"]),
        ({"step": "2h"}, ["<request>:1: step: is longer than last"]),
        ({"last": "30d", "step": "1s"}, ["<request>:1: step: last/step gives more than 11000 "
                                         "points; use a longer step"]),
        ({"alpha": 0.9}, ["<request>:1: alpha: 0.9 is not in (0, 0.5]"]),
        ({"alpha": "0.01"}, ["<request>:1: alpha: expected a number, got '0.01'"]),
        ({"alpha": True}, ["<request>:1: alpha: expected a number, got True"]),
        ({"maxRatio": 1}, ["<request>:1: maxRatio: 1.0 is not in (1, 32): the tolerated "
                           "error-rate ratio"]),
        ({"canaryErorrs": "x"}, ["<request>:1: canaryErorrs: unknown key 'canaryErorrs'; did "
                                 "you mean 'canaryErrors'?"]),
    ],
)  # fmt: skip
def test_invalid_requests_are_422_with_located_lines(
    make_client: MakeClient, change: dict[str, Any], errors: list[str]
) -> None:
    body = {k: v for k, v in {**REQUEST, **change}.items() if v is not None}
    r = make_client(metrics=metrics(0.01)).post("/v1/judge", json=body)
    assert r.status_code == 422
    assert r.json()["errors"] == errors


def test_lines_point_into_the_body(make_client: MakeClient) -> None:
    body = b'{\n "canaryErrors": "a",\n "canaryRequests": "b",\n "baselineErrors": "c",\n' \
           b' "baselineRequests": "d",\n "step": "fortnight"\n}'  # fmt: skip
    r = make_client(metrics=metrics(0.01)).post("/v1/judge", content=body)
    assert r.json()["errors"] == [
        "<request>:6: step: 'fortnight' is not a duration such as 500ms, 30s, 5m or 1h30m"
    ]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:9090",
        "http://prometheus.test:9091",
        "https://prometheus.test:9090",
        "http://prometheus.test:9090/other",
        "file:///etc/passwd",
    ],
)
def test_only_allowed_prometheus_urls_are_queried(make_client: MakeClient, url: str) -> None:
    fake = metrics(0.01)
    r = make_client(metrics=fake).post("/v1/judge", json={**REQUEST, "prometheus": url})
    assert r.status_code == 422
    assert r.json()["error"].startswith("<request>:1: prometheus: ")
    assert fake.calls == []


@pytest.mark.parametrize(
    "url", [PROM, PROM + "/", "HTTP://Prometheus.TEST:9090", "http://prometheus.test:9090"]
)
def test_the_configured_prometheus_may_be_named_in_any_spelling(
    make_client: MakeClient, url: str
) -> None:
    r = make_client(metrics=metrics(0.01)).post("/v1/judge", json={**REQUEST, "prometheus": url})
    assert r.status_code == 200


def test_allow_list_adds_urls(make_client: MakeClient) -> None:
    client = make_client(metrics=metrics(0.01), allow_prometheus=("http://thanos.test",))
    assert (
        client.post(
            "/v1/judge", json={**REQUEST, "prometheus": "http://thanos.test:80"}
        ).status_code
        == 200
    )
    assert client.post("/v1/judge", json={**REQUEST, "prometheus": PROM}).status_code == 200


def test_a_server_without_prometheus_needs_one_named(make_client: MakeClient) -> None:
    client = make_client(metrics=metrics(0.01), prometheus=None)
    r = client.post("/v1/judge", json=REQUEST)
    assert r.json()["errors"] == [
        "<request>:1: prometheus: required field is missing (the server has no --prometheus)"
    ]


def test_prometheus_refusing_a_query_is_422_and_unreachable_is_502(make_client: MakeClient) -> None:
    rejected = RangeMetrics(
        {}, error=ProviderRejected("HTTP 400: bad_data: parse error", provider="prometheus")
    )
    r = make_client(metrics=rejected).post("/v1/judge", json=REQUEST)
    assert (r.status_code, r.json()["error"]) == (
        422,
        "prometheus: HTTP 400: bad_data: parse error",
    )
    down = RangeMetrics({}, error=ProviderUnavailable("timed out", provider="prometheus"))
    r = make_client(metrics=down).post("/v1/judge", json=REQUEST)
    assert (r.status_code, r.json()["error"]) == (502, "prometheus: timed out")


def test_a_query_with_several_series_names_the_request_field(make_client: MakeClient) -> None:
    class TwoSeries(RangeMetrics):
        def query_range(self, query: str, *args: Any) -> Any:
            return [({"pod": "a"}, [(0.0, 1.0)]), ({"pod": "b"}, [(0.0, 1.0)])]

    r = make_client(metrics=TwoSeries({})).post("/v1/judge", json=REQUEST)
    assert r.status_code == 422
    assert r.json()["error"] == "canaryErrors: the query returned 2 series; wrap it in sum(...)"


def test_no_data_is_inconclusive(make_client: MakeClient) -> None:
    r = make_client(metrics=metrics(None)).post("/v1/judge", json=REQUEST)
    assert r.status_code == 200
    body = r.json()
    assert body["verdict"] == "inconclusive"
    assert body["windows"] == 0
    assert body["rates"] == {"canary": None, "baseline": None}
    assert body["reason"] == "no data: no step had requests in both canary and baseline"


def test_a_range_selector_that_is_not_the_step_is_422(make_client: MakeClient) -> None:
    """Overlapping windows would count each error several times (gate.judge.history)."""
    fake = metrics(0.01)
    body = {**REQUEST, "canaryErrors": 'sum(increase(errors{arm="canary"}[5m]))'}
    r = make_client(metrics=fake).post("/v1/judge", json=body)
    assert r.status_code == 422
    assert r.json()["error"].startswith(
        "<request>:1: canaryErrors: the range [5m] is not the step (60s)"
    )
    assert fake.calls == []


def series_metrics(canary: float, seed: int = 5) -> RangeMetrics:
    import random

    rng = random.Random(seed)
    return RangeMetrics(
        {
            "cpu_canary": lambda t: canary * (1 + rng.gauss(0, 0.05)),
            "cpu_stable": lambda t: 1.0 * (1 + rng.gauss(0, 0.05)),
        }
    )


SERIES: dict[str, Any] = {
    "method": "mann-whitney",
    "canary": "cpu_canary",
    "baseline": "cpu_stable",
    "direction": "increase",
    "last": "30m",
    "step": "1m",
}


def test_the_mann_whitney_form_judges_any_metric_kayentas_way(make_client: MakeClient) -> None:
    high = make_client(metrics=series_metrics(1.5)).post("/v1/judge", json=SERIES)
    assert high.status_code == 200
    assert high.json()["verdict"] == "fail"
    same = make_client(metrics=series_metrics(1.0)).post("/v1/judge", json=SERIES)
    assert same.json()["verdict"] == "pass"
    short = make_client(metrics=series_metrics(1.0)).post(
        "/v1/judge", json={**SERIES, "last": "5m"}
    )
    assert short.json()["verdict"] == "inconclusive"  # fewer than 10 values per arm


def test_the_mann_whitney_form_refuses_what_it_does_not_know(make_client: MakeClient) -> None:
    r = make_client(metrics=series_metrics(1.0)).post(
        "/v1/judge", json={**SERIES, "canaryErrors": "x", "direction": "up"}
    )
    assert r.status_code == 422
    text = r.text
    assert "canaryErrors: unknown key 'canaryErrors' for the mann-whitney form" in text
    assert "direction: 'up' is not one of: increase, decrease, either" in text
