"""PrometheusProvider's retry policy and error mapping, with httpx's injected transport."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from gate.errors import ProviderRejected, ProviderUnavailable
from gate.providers.metrics.prometheus import PrometheusProvider

OK = {
    "status": "success",
    "data": {
        "resultType": "vector",
        "result": [{"metric": {"version": "canary"}, "value": [1700000000.0, "0.25"]}],
    },
}


def _provider(
    answers: list[Callable[[httpx.Request], httpx.Response]], **kw: object
) -> tuple[PrometheusProvider, list[httpx.Request], list[float]]:
    seen: list[httpx.Request] = []
    waits: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen) - 1, len(answers) - 1)](request)

    provider = PrometheusProvider(
        "https://prom.example:9090/",
        transport=httpx.MockTransport(handler),
        sleep=waits.append,
        backoff_initial=0.1,
        **kw,  # type: ignore[arg-type]
    )
    return provider, seen, waits


def _status(
    code: int, body: object = None, headers: dict[str, str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _r: httpx.Response(code, json=body, headers=headers)


def test_posts_a_form_to_the_query_endpoint() -> None:
    provider, seen, _ = _provider([_status(200, OK)], headers={"Authorization": "Bearer s3cret"})
    result = provider.query('rate(x{a="b"}[1m])')
    assert [s.value for s in result.samples] == [0.25]
    (request,) = seen
    assert request.method == "POST"
    assert request.url.path == "/api/v1/query"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["authorization"] == "Bearer s3cret"
    assert dict(httpx.QueryParams(request.content.decode())) == {"query": 'rate(x{a="b"}[1m])'}
    assert "s3cret" not in repr(provider)


def test_5xx_is_retried_with_exponential_backoff_then_unavailable() -> None:
    provider, seen, waits = _provider([_status(502, None)], retries=3)
    with pytest.raises(ProviderUnavailable, match=r"HTTP 502 \(after 4 attempts\)"):
        provider.query("up")
    assert len(seen) == 4
    assert waits == [0.1, 0.2, 0.4]


def test_recovers_when_a_retry_succeeds() -> None:
    provider, seen, _ = _provider([_status(503), _status(200, OK)])
    assert provider.query("up").samples[0].value == 0.25
    assert len(seen) == 2


def test_retry_after_is_honoured_on_429_and_503() -> None:
    provider, seen, waits = _provider(
        [
            _status(429, None, {"Retry-After": "3"}),
            _status(503, None, {"Retry-After": "1"}),
            _status(200, OK),
        ]
    )
    provider.query("up")
    assert waits == [3.0, 1.0]
    assert len(seen) == 3


@pytest.mark.parametrize(
    ("code", "kind", "text"),
    [(400, "bad_data", "parse error: unexpected end"), (422, "execution", "many-to-many")],
)
def test_bad_query_is_rejected_at_once(code: int, kind: str, text: str) -> None:
    body = {"status": "error", "errorType": kind, "error": text}
    provider, seen, waits = _provider([_status(code, body)])
    with pytest.raises(ProviderRejected, match=f"HTTP {code}: {kind}: {text}"):
        provider.query("up")
    assert len(seen) == 1
    assert waits == []


def test_prometheus_timeout_503_carries_its_message() -> None:
    body = {"status": "error", "errorType": "timeout", "error": "query timed out in expression"}
    provider, _, _ = _provider([_status(503, body)], retries=1)
    with pytest.raises(ProviderUnavailable, match="timeout: query timed out"):
        provider.query("up")


def test_transport_errors_are_retried_and_chained() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    provider, seen, _ = _provider([refuse, slow], retries=1)
    with pytest.raises(ProviderUnavailable, match=r"timed out .*after 2 attempts") as info:
        provider.query("up")
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("code", "body", "message"),
    [
        (401, None, "HTTP 401"),
        (404, None, "HTTP 404"),
        (302, None, "redirect"),
        (200, {"hello": "world"}, "not a Prometheus API response"),
    ],
)
def test_other_answers_are_rejected_without_retry(code: int, body: object, message: str) -> None:
    provider, seen, _ = _provider([_status(code, body)])
    with pytest.raises(ProviderRejected, match=message):
        provider.query("up")
    assert len(seen) == 1


def test_non_json_body_is_rejected() -> None:
    provider, _, _ = _provider([lambda _r: httpx.Response(200, text="<html>login</html>")])
    with pytest.raises(ProviderRejected, match="the answer is not JSON"):
        provider.query("up")


def test_user_info_never_appears_in_messages() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    seen: list[float] = []
    provider = PrometheusProvider(
        "https://user:hunter2@prom.example/",
        transport=httpx.MockTransport(refuse),
        retries=0,
        sleep=seen.append,
    )
    with pytest.raises(ProviderUnavailable) as info:
        provider.query("up")
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in repr(provider)


def test_scalar_and_range_results_are_parsed() -> None:
    scalar = {"status": "success", "data": {"resultType": "scalar", "result": [1.0, "+Inf"]}}
    matrix = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [{"metric": {"v": "c"}, "values": [[1.0, "1"], [2.0, "NaN"]]}],
        },
    }
    provider, seen, _ = _provider([_status(200, scalar), _status(200, matrix)])
    assert provider.query("1/0").samples[0].value == float("inf")
    from datetime import UTC, datetime

    ((labels, points),) = provider.query_range(
        "x", datetime.fromtimestamp(1, UTC), datetime.fromtimestamp(2, UTC), 1
    )
    assert labels == {"v": "c"}
    assert points[0] == (1.0, 1.0)
    assert points[1][1] != points[1][1]  # NaN
    assert json.loads(json.dumps(dict(httpx.QueryParams(seen[1].content.decode())))) == {
        "query": "x",
        "start": "1.000",
        "end": "2.000",
        "step": "1",
    }
