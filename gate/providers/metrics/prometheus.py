"""Prometheus's HTTP API: instant and range queries, POSTed as forms.

Errors map into gate's tree: ``bad_data`` (400) and ``execution`` (422) answers become
:class:`~gate.errors.ProviderRejected` carrying Prometheus's own message; timeouts, refused
connections and 5xx answers are retried with exponential backoff (honouring ``Retry-After`` on
429/503) and become :class:`~gate.errors.ProviderUnavailable` when retries run out.
"""

from __future__ import annotations

import json
import math
import ssl
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from gate.errors import ProviderRejected, ProviderUnavailable
from gate.providers import http_retry
from gate.providers.http_retry import Backoff
from gate.providers.metrics.interface import QueryResult, Sample

_NAME = "prometheus"


def parse_value(raw: object) -> float:
    """A sample value as Prometheus writes it (a string: ``"1.5"``, ``"NaN"``, ``"+Inf"``)."""
    if isinstance(raw, str):
        text = raw.strip()
        special = {"nan": math.nan, "+inf": math.inf, "inf": math.inf, "-inf": -math.inf}
        if text.lower() in special:
            return special[text.lower()]
        try:
            return float(text)
        except ValueError:
            pass
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    raise ProviderRejected(f"unexpected sample value {raw!r}", provider=_NAME)


def _labels(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {str(k): str(v) for k, v in raw.items()}


def _pair(raw: object) -> tuple[float, float]:
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        raise ProviderRejected(f"unexpected sample {raw!r}", provider=_NAME)
    return float(raw[0]), parse_value(raw[1])


class PrometheusProvider:
    """A :class:`~gate.providers.metrics.interface.MetricsProvider` for Prometheus's API.

    ``headers`` are sent with every request (already resolved; see
    :func:`gate.providers.http_retry.headers_from_env` to take them from environment variables)
    and never appear in messages. TLS certificates are always verified; ``ca_file`` adds a CA.
    """

    name = _NAME

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        ca_file: str | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.url = url.rstrip("/")
        self._where = http_retry.redact_url(self.url)
        self._backoff = Backoff(retries=retries, initial=backoff_initial, maximum=backoff_max)
        self._sleep = sleep
        verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            verify = ssl.create_default_context(cafile=ca_file)
        self._client = httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(timeout),
            headers=dict(headers or {}),
            transport=transport,
            verify=verify,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"PrometheusProvider({self._where!r})"

    # -- the protocol -------------------------------------------------------------------------

    def query(self, query: str, at: datetime | None = None) -> QueryResult:
        form = {"query": query}
        if at is not None:
            form["time"] = f"{at.timestamp():.3f}"
        data = self._post("/api/v1/query", form)
        result_type = data.get("resultType")
        result = data.get("result")
        if result_type == "vector":
            samples = []
            for item in result if isinstance(result, list) else []:
                if not isinstance(item, dict):
                    raise ProviderRejected(f"unexpected series {item!r}", provider=_NAME)
                _, value = _pair(item.get("value"))
                samples.append(Sample(labels=_labels(item.get("metric")), value=value))
            return QueryResult(query=query, samples=tuple(samples))
        if result_type == "scalar":
            _, value = _pair(result)
            return QueryResult(query=query, samples=(Sample(labels={}, value=value),))
        if result_type == "matrix":
            raise ProviderRejected(
                "the query returns a range vector; an instant query needs a single value per "
                "series (wrap the selector in a function such as rate() or avg_over_time())",
                provider=_NAME,
            )
        raise ProviderRejected(
            f"the query returns a {result_type!s} where a number was expected", provider=_NAME
        )

    def query_range(
        self, query: str, start: datetime, end: datetime, step_seconds: float
    ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        if step_seconds <= 0:
            raise ValueError("step_seconds must be positive")
        form = {
            "query": query,
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": f"{step_seconds:g}",
        }
        data = self._post("/api/v1/query_range", form)
        if data.get("resultType") != "matrix":
            raise ProviderRejected(
                f"range query returned {data.get('resultType')!s}, expected matrix",
                provider=_NAME,
            )
        series: list[tuple[dict[str, str], list[tuple[float, float]]]] = []
        result = data.get("result")
        for item in result if isinstance(result, list) else []:
            if not isinstance(item, dict):
                raise ProviderRejected(f"unexpected series {item!r}", provider=_NAME)
            values = item.get("values")
            points = [_pair(v) for v in values] if isinstance(values, list) else []
            series.append((_labels(item.get("metric")), points))
        return series

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PrometheusProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the exchange -------------------------------------------------------------------------

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        where = f"{self._where}{path}"
        try:
            kwargs = {} if self._sleep is None else {"sleep": self._sleep}
            response = http_retry.send(
                lambda: self._client.post(path, data=form), self._backoff, **kwargs
            )
        except httpx.UnsupportedProtocol as exc:
            raise ProviderRejected(f"{where}: {exc}", provider=_NAME) from exc
        except httpx.HTTPError as exc:
            attempts = self._backoff.retries + 1
            raise ProviderUnavailable(
                f"{where}: {http_retry.describe_transport_error(exc)} "
                f"(after {attempts} attempt{'s' if attempts != 1 else ''})",
                provider=_NAME,
            ) from exc
        return self._judge(response, where)

    def _judge(self, response: httpx.Response, where: str) -> dict[str, Any]:
        status = response.status_code
        body: Any = None
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        error_text = ""
        if isinstance(body, dict) and body.get("status") == "error":
            kind = body.get("errorType", "error")
            error_text = f"{kind}: {body.get('error', '')}".strip()

        if status in http_retry.RETRYABLE_STATUS:
            attempts = self._backoff.retries + 1
            detail = error_text or _snippet(response)
            raise ProviderUnavailable(
                f"{where}: HTTP {status}{': ' + detail if detail else ''} "
                f"(after {attempts} attempt{'s' if attempts != 1 else ''})",
                provider=_NAME,
            )
        if status >= 400 or error_text:
            detail = error_text or _snippet(response)
            raise ProviderRejected(
                f"{where}: HTTP {status}{': ' + detail if detail else ''}", provider=_NAME
            )
        if status >= 300:
            raise ProviderRejected(
                f"{where}: HTTP {status} redirect; point the url at the Prometheus API itself",
                provider=_NAME,
            )
        if not isinstance(body, dict) or body.get("status") != "success":
            raise ProviderRejected(
                f"{where}: the answer is not a Prometheus API response", provider=_NAME
            )
        data = body.get("data")
        if not isinstance(data, dict):
            raise ProviderRejected(f"{where}: the answer has no data", provider=_NAME)
        return data


def _snippet(response: httpx.Response, limit: int = 200) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, httpx.ResponseNotRead):
        return ""
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")
