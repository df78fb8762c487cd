"""``POST /v1/judge``: ``gate judge`` over HTTP, shaped for Argo Rollouts' ``web`` provider.

Request (JSON; the Flagger hooks take the same keys from their ``metadata``, as strings)::

    {"prometheus": "http://prometheus:9090",          # optional: the server's --prometheus
     "canaryErrors": "sum(increase(...[1m]))", "canaryRequests": "...",
     "baselineErrors": "...", "baselineRequests": "...",
     "last": "30m", "step": "1m", "alpha": 0.01, "maxRatio": 1.5}

The range is judged by the same function as ``gate judge`` (:func:`gate.judge.history.
judge_range`), and the answer is what ``gate judge --format json`` prints:
``{"verdict": "pass" | "fail" | "inconclusive", "reason", "ratio": {lower, upper, ...},
"data", ...}`` — pass when the canary is proven within ``maxRatio`` × the baseline's error
rate, fail when it is significantly worse, inconclusive otherwise (no data included). HTTP 200
whatever the verdict: Argo's ``web`` provider turns any non-2xx answer into a
measurement *Error*, so the verdict travels in the body and the AnalysisTemplate's
``successCondition`` / ``failureCondition`` read ``result.verdict``. Non-2xx answers are
errors: 400/422 bad input (a Prometheus URL that is not allowed, a query Prometheus rejects),
502 Prometheus unreachable, 504 out of time.

The Mann-Whitney form judges any metric (latency, CPU, memory) Kayenta's way, as ``gate judge
--method mann-whitney`` does::

    {"method": "mann-whitney", "canary": "avg(cpu{track=\"canary\"})",
     "baseline": "avg(cpu{track=\"stable\"})", "last": "30m", "step": "1m",
     "direction": "increase", "confidence": 0.98, "tolerance": 0.25, "minPoints": 10}

It is a fixed-horizon test: ask it once, at the end of a step, not at every interval.

Only Prometheus URLs on the server's allow-list may be named (``--prometheus`` and
``--allow-prometheus``): a server that fetched any URL a caller names would let callers reach
anything the server can (server-side request forgery).
"""

from __future__ import annotations

import contextlib
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gate.config.loader import Document, PathKey
from gate.config.values import parse_duration
from gate.errors import ConfigError, ConfigErrors, ProviderRejected, ProviderUnavailable
from gate.judge.history import DEFAULT_MAX_RATIO, Judgement, SeriesJudgement
from gate.serve.body import RequestProblem, invalid
from gate.serve.service import Service
from gate.serve.settings import normalise_url

QUERIES = {
    "canaryErrors": "canary_errors",
    "canaryRequests": "canary_requests",
    "baselineErrors": "baseline_errors",
    "baselineRequests": "baseline_requests",
}
FIELDS = ("prometheus", *QUERIES, "last", "step", "alpha", "maxRatio")
SERIES_FIELDS = (
    "prometheus",
    "method",
    "canary",
    "baseline",
    "last",
    "step",
    "direction",
    "confidence",
    "tolerance",
    "minPoints",
)
DIRECTIONS = ("increase", "decrease", "either")
DEFAULTS: dict[str, Any] = {
    "last": "30m",
    "step": "1m",
    "alpha": 0.01,
    "maxRatio": DEFAULT_MAX_RATIO,
}
MAX_POINTS = 11_000  # Prometheus refuses range queries with more points per series
Problem = Callable[[str, str], None]


@dataclass(frozen=True)
class JudgeRequest:
    prometheus: str  # normalised, on the allow-list
    queries: dict[str, str]  # keyed as judge_range wants: canary_errors, ...
    last: float
    step: float
    alpha: float
    max_ratio: float
    method: str = "sequential"
    series: tuple[str, str] = ("", "")  # mann-whitney: (canary, baseline) queries
    direction: str = "either"
    confidence: float = 0.98
    tolerance: float = 0.25
    min_points: int = 10


def parse_judge_request(
    doc: Document, service: Service, *, base: PathKey = (), from_metadata: bool = False
) -> JudgeRequest:
    """Read the judge's parameters under ``base`` in ``doc``; every mistake, located, in one
    ConfigErrors. ``from_metadata``: Flagger metadata, where every value is a string and other
    keys may sit beside the judge's."""
    raw: Any = doc.data
    for key in base:
        raw = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(raw, Mapping):
        raise doc.error(base, "expected a mapping of the judge's settings")
    problems: list[ConfigError] = []

    def problem(key: str, message: str) -> None:
        problems.append(doc.error((*base, key), message))

    method = raw.get("method", "sequential")
    if method not in ("sequential", "mann-whitney"):
        problem("method", f"{method!r} is not one of: sequential, mann-whitney")
    if method == "mann-whitney":
        return _parse_series(doc, raw, base, service, from_metadata)
    if not from_metadata:
        for key in raw:
            if key not in FIELDS and key != "method":
                hint = difflib.get_close_matches(str(key), FIELDS, n=1)
                tail = f"; did you mean {hint[0]!r}?" if hint else f"; one of: {', '.join(FIELDS)}"
                problem(str(key), f"unknown key {key!r}{tail}")

    queries: dict[str, str] = {}
    for key, name in QUERIES.items():
        value = raw.get(key)
        if value is None:
            problem(key, "required field is missing")
        elif not isinstance(value, str) or not value.strip():
            problem(key, "expected a PromQL query (a non-empty string)")
        else:
            queries[name] = value

    prometheus = _prometheus(raw.get("prometheus"), service, problem)

    spans = _spans(raw, problem)
    if len(queries) == len(QUERIES) and "step" in spans:
        _check_windows(queries, spans["step"], problem)
    if len(spans) == 2 and spans["step"] > spans["last"]:
        problem("step", "is longer than last")

    alpha = _number("alpha", raw.get("alpha", DEFAULTS["alpha"]), from_metadata, problem)
    if alpha is not None and not 0 < alpha <= 0.5:
        problem("alpha", f"{alpha!r} is not in (0, 0.5]")
    max_ratio = _number(
        "maxRatio", raw.get("maxRatio", DEFAULTS["maxRatio"]), from_metadata, problem
    )
    if max_ratio is not None and not 1 < max_ratio < 32:
        problem("maxRatio", f"{max_ratio!r} is not in (1, 32): the tolerated error-rate ratio")

    if problems:
        raise ConfigErrors(problems)
    assert prometheus is not None
    assert alpha is not None
    assert max_ratio is not None
    return JudgeRequest(prometheus, queries, spans["last"], spans["step"], alpha, max_ratio)


def _parse_series(
    doc: Document, raw: Mapping[str, Any], base: PathKey, service: Service, from_metadata: bool
) -> JudgeRequest:
    problems: list[ConfigError] = []

    def problem(key: str, message: str) -> None:
        problems.append(doc.error((*base, key), message))

    if not from_metadata:
        for key in raw:
            if key not in SERIES_FIELDS:
                hint = difflib.get_close_matches(str(key), SERIES_FIELDS, n=1)
                tail = f"; did you mean {hint[0]!r}?" if hint else ""
                problem(str(key), f"unknown key {key!r} for the mann-whitney form{tail}")
    queries = []
    for key in ("canary", "baseline"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            problem(key, "expected a PromQL query (a non-empty string)")
        else:
            queries.append(value)
    prometheus = _prometheus(raw.get("prometheus"), service, problem)
    spans = _spans(raw, problem)
    direction = raw.get("direction", "either")
    if direction not in DIRECTIONS:
        problem("direction", f"{direction!r} is not one of: {', '.join(DIRECTIONS)}")
    confidence = _number("confidence", raw.get("confidence", 0.98), from_metadata, problem)
    if confidence is not None and not 0.5 < confidence < 1:
        problem("confidence", f"{confidence!r} is not in (0.5, 1)")
    tolerance = _number("tolerance", raw.get("tolerance", 0.25), from_metadata, problem)
    if tolerance is not None and not 0 <= tolerance <= 10:
        problem("tolerance", f"{tolerance!r} is not in [0, 10]")
    min_points = _number("minPoints", raw.get("minPoints", 10), from_metadata, problem)
    if min_points is not None and not (min_points == int(min_points) and min_points >= 3):
        problem("minPoints", f"{min_points!r} is not a whole number of at least 3")
    if problems:
        raise ConfigErrors(problems)
    assert prometheus is not None
    assert confidence is not None
    assert tolerance is not None
    assert min_points is not None
    return JudgeRequest(
        prometheus,
        {},
        spans["last"],
        spans["step"],
        0.01,
        DEFAULT_MAX_RATIO,
        method="mann-whitney",
        series=(queries[0], queries[1]),
        direction=str(direction),
        confidence=confidence,
        tolerance=tolerance,
        min_points=int(min_points),
    )


def _spans(raw: Mapping[str, Any], problem: Problem) -> dict[str, float]:
    """``last`` and ``step`` in seconds (those that parse), at most MAX_POINTS steps."""
    spans: dict[str, float] = {}
    for key in ("last", "step"):
        try:
            spans[key] = parse_duration(raw.get(key, DEFAULTS[key]), minimum=1.0)
        except ValueError as exc:
            problem(key, str(exc))
    if len(spans) == 2 and spans["last"] / spans["step"] > MAX_POINTS:
        problem("step", f"last/step gives more than {MAX_POINTS} points; use a longer step")
    return spans


def _check_windows(queries: dict[str, str], step: float, problem: Problem) -> None:
    """The judge's own rule: each query's range selector is exactly one step."""
    from gate.judge.history import check_windows

    try:
        check_windows(queries, step)
    except ConfigError as exc:
        problem(_CLI_FIELDS.get(exc.field or "", str(exc.field)), exc.message)


def _prometheus(value: object, service: Service, problem: Problem) -> str | None:
    if value is None:
        if service.settings.prometheus is None:
            problem("prometheus", "required field is missing (the server has no --prometheus)")
            return None
        value = service.settings.prometheus
    if not isinstance(value, str):
        problem("prometheus", "expected a URL")
        return None
    try:
        url = normalise_url(value, "prometheus")
    except ConfigError as exc:
        problem("prometheus", exc.message)
        return None
    if url not in service.allowed_prometheus:
        problem(
            "prometheus",
            "not a Prometheus this server may query (see gate serve --allow-prometheus)",
        )
        return None
    return url


def _number(key: str, value: object, from_metadata: bool, problem: Problem) -> float | None:
    if from_metadata and isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problem(key, f"expected a number, got {value!r}")
        return None
    return float(value)


@dataclass(frozen=True)
class JudgeAnswer:
    request: JudgeRequest
    judgement: Judgement | SeriesJudgement

    @property
    def verdict(self) -> str:
        return str(self.judgement.verdict)

    def as_dict(self) -> dict[str, Any]:
        """What ``gate judge --format json`` prints for the same range."""
        return self.judgement.as_dict()


_CLI_FIELDS = {f"--{name.replace('_', '-')}": key for key, name in QUERIES.items()}


def judge(service: Service, request: JudgeRequest, now: datetime | None = None) -> JudgeAnswer:
    """Judge the last ``request.last`` seconds up to ``now``; raise RequestProblem for input
    Prometheus refuses (422) or cannot answer (502)."""
    from gate.judge.history import judge_range

    end = now or datetime.now(UTC)
    start = end - timedelta(seconds=request.last)
    provider = service.metrics(request.prometheus)
    try:
        if request.method == "mann-whitney":
            from gate.judge.history import judge_series_range

            series = judge_series_range(
                provider,
                request.series[0],
                request.series[1],
                start,
                end,
                request.step,
                confidence=request.confidence,
                tolerance=request.tolerance,
                direction=request.direction,
                min_points=request.min_points,
            )
            return JudgeAnswer(request, series)
        result = judge_range(
            provider,
            request.queries,
            start,
            end,
            request.step,
            request.alpha,
            max_ratio=request.max_ratio,
        )
    except ConfigError as exc:  # a query that returns several series
        field = _CLI_FIELDS.get(exc.field or "", exc.field)
        raise invalid(ConfigError(exc.message, field=field)) from None
    except ProviderRejected as exc:
        raise RequestProblem(422, [str(exc)]) from None
    except ProviderUnavailable as exc:
        raise RequestProblem(502, [str(exc)]) from None
    return JudgeAnswer(request, result)
