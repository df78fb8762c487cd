"""Prometheus's HTTP API: instant and range queries, POSTed as forms.

Errors map into gate's tree: ``bad_data`` (400) and ``execution`` (422) answers become
:class:`~gate.errors.ProviderRejected` carrying Prometheus's own message; timeouts, refused
connections, 429 and 5xx answers are retried within the deadline (honouring ``Retry-After``)
and become :class:`~gate.errors.ProviderUnavailable` when it passes. An answer that is not the
shape Prometheus documents — not JSON, a sample that is not ``[time, "value"]``, a series that
is not an object — is :class:`~gate.errors.ProviderRejected`: a failed measurement, never a
crash and never a value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from gate.errors import ProviderRejected
from gate.providers.http import HttpClient, redact_url, snippet
from gate.providers.metrics.interface import QueryResult, Sample
from gate.secrets import shown

_NAME = "prometheus"
_SPECIAL = {"nan": math.nan, "+inf": math.inf, "inf": math.inf, "-inf": -math.inf}


def parse_value(raw: object) -> float:
    """A sample value as Prometheus writes it (a string: ``"1.5"``, ``"NaN"``, ``"+Inf"``)."""
    if isinstance(raw, str) and len(raw) <= 64:
        text = raw.strip()
        if text.lower() in _SPECIAL:
            return _SPECIAL[text.lower()]
        try:
            return float(text)
        except ValueError:
            pass
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        try:
            return float(raw)
        except OverflowError:
            pass
    raise ProviderRejected(f"unexpected sample value {shown(raw)}", provider=_NAME)


def _labels(raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ProviderRejected(f"unexpected series labels {shown(raw)}", provider=_NAME)
    return {str(k): str(v) for k, v in raw.items()}


def _pair(raw: object) -> tuple[float, float]:
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        raise ProviderRejected(f"unexpected sample {shown(raw)}", provider=_NAME)
    stamp = raw[0]
    if isinstance(stamp, bool) or not isinstance(stamp, int | float) or not math.isfinite(stamp):
        raise ProviderRejected(f"unexpected sample time {shown(stamp)}", provider=_NAME)
    return float(stamp), parse_value(raw[1])


def _series(result: object) -> list[dict[str, Any]]:
    if result is None:
        return []
    if not isinstance(result, list) or not all(isinstance(item, dict) for item in result):
        raise ProviderRejected(f"unexpected result {shown(result)}", provider=_NAME)
    return result


def _date(text: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware datetime, or None."""
    from email.utils import parsedate_to_datetime

    if not text:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else None


class PrometheusProvider:
    """A :class:`~gate.providers.metrics.interface.MetricsProvider` for Prometheus's API.

    ``headers`` are sent with every request (already resolved, see
    :func:`gate.secrets.reveal`) and never appear in messages. ``timeout`` is each query's
    total deadline, retries included. TLS certificates are always verified.
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
        self.url = url.rstrip("/")
        self._where = redact_url(self.url)
        self._server_date: datetime | None = None
        extra = {} if sleep is None else {"sleep": sleep}
        self._http = HttpClient(
            _NAME,
            base_url=self.url,
            headers=headers,
            timeout=timeout,
            retries=retries,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            transport=transport,
            ca_file=ca_file,
            **extra,  # type: ignore[arg-type]
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
            for item in _series(result):
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
            f"the query returns a {result_type!s:.40} where a number was expected", provider=_NAME
        )

    def query_range(
        self, query: str, start: datetime, end: datetime, step_seconds: float
    ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        if not step_seconds > 0:
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
                f"range query returned {data.get('resultType')!s:.40}, expected matrix",
                provider=_NAME,
            )
        series: list[tuple[dict[str, str], list[tuple[float, float]]]] = []
        for item in _series(data.get("result")):
            values = item.get("values")
            if values is not None and not isinstance(values, list):
                raise ProviderRejected(f"unexpected values {shown(values)}", provider=_NAME)
            points = [_pair(v) for v in values or []]
            series.append((_labels(item.get("metric")), points))
        return series

    def server_time(self) -> datetime | None:
        """Prometheus's clock as its last answer gave it (the HTTP ``Date`` header, to the
        second), or None before any answer that had one."""
        return self._server_date

    def scrape_interval(self) -> float | None:
        """Prometheus's global scrape interval in seconds (from /api/v1/status/config), or
        None when it cannot be read."""
        import yaml

        from gate.config.values import parse_duration
        from gate.errors import ProviderError

        try:
            data = self._http.request("GET", "/api/v1/status/config").json_object()
            config = yaml.safe_load(str(data.get("data", {}).get("yaml", "")))
            text = str(((config or {}).get("global") or {}).get("scrape_interval", "1m"))
            return parse_duration(text)
        except (ProviderError, ValueError, AttributeError, yaml.YAMLError):
            return None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PrometheusProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the exchange -------------------------------------------------------------------------

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        reply = self._http.request("POST", path, form=form, accept=(400, 422))
        self._server_date = _date(reply.headers.get("date")) or self._server_date
        body = reply.json()
        if reply.status in (400, 422):
            detail = ""
            if isinstance(body, dict) and body.get("status") == "error":
                detail = f"{body.get('errorType', 'error')}: {body.get('error', '')}"
            raise ProviderRejected(
                f"{reply.where}: HTTP {reply.status}: {snippet(str(detail), 300)}".rstrip(": "),
                provider=_NAME,
            )
        if not isinstance(body, dict) or body.get("status") != "success":
            raise ProviderRejected(
                f"{reply.where}: the answer is not a Prometheus API response", provider=_NAME
            )
        data = body.get("data")
        if not isinstance(data, dict):
            raise ProviderRejected(f"{reply.where}: the answer has no data", provider=_NAME)
        return data
