"""The rollout spec: validated against its schema, then built into frozen, typed records.

Everything a run needs is checked here, when the file is loaded — every provider's settings
(through its registry), every metric's limits (finite, in range), every duration (within sane
bounds), every name (by gate's one rule) — so that ``gate validate``, ``gate rollout`` and
``gate rollout --dry-run`` refuse exactly the same files with exactly the same messages.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from gate.anomaly.detector import AnomalySettings
from gate.anomaly.settings import parse_anomaly
from gate.config.loader import Document
from gate.config.node import Node
from gate.config.validate import validate
from gate.config.values import format_duration, parse_duration
from gate.providers.flags.registry import PROVIDERS as FLAG_PROVIDERS
from gate.providers.metrics.registry import PROVIDERS as METRICS_PROVIDERS
from gate.providers.notify.registry import PROVIDERS as NOTIFIERS
from gate.providers.registry import Configured, parse_block
from gate.providers.traffic.registry import ROUTERS
from gate.rollout.templates import check_template

DEFAULT_INTERVAL = 30.0
DEFAULT_PAUSE_TIMEOUT = 1800.0
MIN_INTERVAL = 1.0


class MetricJudge(enum.StrEnum):
    """How a metric is judged."""

    THRESHOLD = "threshold"  # its value against max / min / maxRatio
    SEQUENTIAL = "sequential"  # canary vs baseline error counts, anytime-valid
    SEQUENTIAL_LATENCY = "sequential-latency"  # share of slow requests from histograms
    MANN_WHITNEY = "mann-whitney"  # Kayenta's classifier: canary vs baseline series, per stage


class Direction(enum.StrEnum):
    """Which way a mann-whitney metric may not move: up (errors, latency), down
    (throughput), or either."""

    INCREASE = "increase"
    DECREASE = "decrease"
    EITHER = "either"


class OnNoData(enum.StrEnum):
    INCONCLUSIVE = "inconclusive"
    FAIL = "fail"
    PASS = "pass"  # noqa: S105 - an outcome, not a password


class Aggregate(enum.StrEnum):
    ERROR = "error"  # several series are an error
    MAX = "max"
    MIN = "min"
    SUM = "sum"
    AVG = "avg"


class HookKind(enum.StrEnum):
    PRE_ROLLOUT = "pre-rollout"
    CONFIRM_PROMOTION = "confirm-promotion"
    POST_ROLLOUT = "post-rollout"
    ROLLBACK = "rollback"


COUNT_QUERIES = ("canaryErrors", "canaryRequests", "baselineErrors", "baselineRequests")
# a PromQL range selector or subquery range: [5m], [30s], [{{ interval }}], [1m:10s]
_RANGE = re.compile(r"\[\s*([^\]:]+?)\s*(?::[^\]]*)?\]")
_SELECTOR = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\s*(\{[^{}]*\})?")
HISTOGRAM_QUERIES = ("canaryHistogram", "baselineHistogram")


@dataclass(frozen=True)
class Stage:
    weight: int
    duration: float | None  # None: wait for `gate promote` (except the last stage)
    timeout: float | None = None  # for a manual stage: roll back when nobody promotes in time
    error_threshold: float | None = None
    line: int | None = None


@dataclass(frozen=True)
class Metric:
    name: str
    query: str = ""
    baseline_query: str | None = None
    max: float | None = None
    min: float | None = None
    max_ratio: float | None = None
    error_metric: bool = False
    on_no_data: OnNoData = OnNoData.INCONCLUSIVE
    aggregate: Aggregate = Aggregate.ERROR
    dry_run: bool = False
    judge: MetricJudge = MetricJudge.THRESHOLD
    alpha: float = 0.01
    count_queries: Mapping[str, str] = field(default_factory=dict)
    counters: Mapping[str, str] = field(default_factory=dict)  # gate builds the increases
    threshold: float | None = None  # sequential-latency: the bucket bound, seconds
    direction: Direction = Direction.INCREASE  # mann-whitney
    tolerance: float = 0.25  # mann-whitney: Kayenta's allowed shift, a share of the estimate
    confidence: float = 0.98  # mann-whitney
    min_samples: int = 5  # mann-whitney: fewer pairs in a stage is inconclusive
    anomaly: AnomalySettings | None = None  # against the metric's own history
    line: int | None = None

    @property
    def proves(self) -> bool:
        """Whether this metric's judge can prove the canary within tolerance (maxRatio)."""
        return (
            self.judge in (MetricJudge.SEQUENTIAL, MetricJudge.SEQUENTIAL_LATENCY)
            and self.max_ratio is not None
        )

    def limit_text(self, error_threshold: float | None = None) -> str:
        parts = []
        if self.judge is MetricJudge.SEQUENTIAL:
            parts.append(f"sequential α={self.alpha:g}")
        if self.judge is MetricJudge.SEQUENTIAL_LATENCY:
            parts.append(f"share slower than {self.threshold:g}s, sequential α={self.alpha:g}")
        if self.judge is MetricJudge.MANN_WHITNEY:
            parts.append(
                f"Mann-Whitney {self.confidence:.0%}, tolerance {self.tolerance:g}, "
                f"no {self.direction if self.direction != Direction.EITHER else 'shift'}"
            )
            return ", ".join(parts)
        if self.proves:
            parts.append(f"to prove ≤ {self.max_ratio:g}× baseline")
            return ", ".join(parts)
        high = error_threshold if (error_threshold is not None and self.error_metric) else self.max
        if high is not None:
            parts.append(f"≤ {high:g}")
        if self.min is not None:
            parts.append(f"≥ {self.min:g}")
        if self.max_ratio is not None:
            parts.append(f"≤ {self.max_ratio:g}× baseline")
        if self.anomaly is not None:
            parts.append(
                f"within {self.anomaly.sensitivity:g} robust σ of its usual "
                f"({self.anomaly.direction})"
            )
        return ", ".join(parts)

    def queries(self) -> tuple[str, ...]:
        """Every query text of this metric (templates not yet rendered)."""
        built = (f"sum({selector})" for selector in self.counters.values())
        texts = (self.query, self.baseline_query, *self.count_queries.values(), *built)
        return tuple(q for q in texts if q)


class OnInconclusive(enum.StrEnum):
    PAUSE = "pause"
    FAIL = "fail"


@dataclass(frozen=True)
class Analysis:
    metrics: tuple[Metric, ...]
    interval: float = DEFAULT_INTERVAL
    failure_limit: int = 0
    inconclusive_limit: int = 0
    consecutive_error_limit: int = 4
    on_inconclusive: OnInconclusive = OnInconclusive.PAUSE
    pause_timeout: float = DEFAULT_PAUSE_TIMEOUT
    args: Mapping[str, str] = field(default_factory=dict)
    promote_early: bool = False


@dataclass(frozen=True)
class Hook:
    name: str
    command: tuple[str, ...] = ()
    url: str = ""
    method: str = "POST"
    headers: tuple[tuple[str, Any], ...] = ()  # (header, SecretRef)
    timeout: float = 60.0


@dataclass(frozen=True)
class RolloutSpec:
    name: str
    service: str
    traffic: Configured
    metrics_provider: Configured
    stages: tuple[Stage, ...]
    analysis: Analysis
    flags: tuple[Configured, ...] = ()
    hooks: Mapping[HookKind, tuple[Hook, ...]] = field(default_factory=dict)
    notifications: tuple[Configured, ...] = ()
    file: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)

    def hooks_of(self, kind: HookKind) -> tuple[Hook, ...]:
        return self.hooks.get(kind, ())


@cache
def rollout_schema() -> dict[str, Any]:
    """The rollout schema, its backend names from the provider registries."""
    from gate.config.validate import completed

    spec = ("properties", "spec", "properties")
    return completed(
        "rollout",
        {
            (*spec, "traffic", "properties", "provider"): ROUTERS,
            (*spec, "metrics", "properties", "provider"): METRICS_PROVIDERS,
            ("$defs", "flag", "properties", "provider"): FLAG_PROVIDERS,
            (*spec, "notifications", "items", "properties", "provider"): NOTIFIERS,
            ("$defs", "metric", "properties", "judge"): [j.value for j in MetricJudge],
        },
        {
            ("properties", "metadata", "properties", "name"): "rollout name",
            ("$defs", "metric", "properties", "name"): "metric name",
            ("$defs", "hook", "properties", "name"): "hook name",
        },
    )


def _counters(node: Node) -> dict[str, str]:
    """``counters:``: the four counter selectors gate builds non-overlapping increases of."""
    counters = node["counters"]
    out = {}
    for key in COUNT_QUERIES:
        selector = counters.text(key)
        if not _SELECTOR.fullmatch(selector.strip()):
            raise counters[key].error(
                f"{selector!r} is not a counter selector such as "
                'http_requests_total{service="checkout",track="canary",code=~"5.."}'
            )
        out[key] = selector.strip()
    return out


def _check_ranges(node: Node, key: str, text: str, interval: float) -> None:
    """A count query must count each event once: its range is exactly the interval."""
    for match in _RANGE.finditer(text):
        window = match.group(1)
        if re.fullmatch(r"\{\{\s*interval\s*\}\}", window):
            continue
        try:
            seconds = parse_duration(window.replace("y", "w"), minimum=0)
        except ValueError:
            continue
        if abs(seconds - interval) > 1e-9:
            times = seconds / interval
            raise node[key].error(
                f"the range [{window}] is not the analysis interval ({format_duration(interval)}):"
                f" measured every {format_duration(interval)}, each event would be counted "
                f"{times:.3g} times and the judge's guarantee would not hold; write "
                "[{{ interval }}], or give `counters:` and let gate build the queries"
            )


# the settings each judge reads, besides name, judge, dryRun, onNoData and errorMetric
JUDGE_KEYS: dict[MetricJudge, tuple[str, ...]] = {
    MetricJudge.THRESHOLD: (
        "query",
        "baselineQuery",
        "max",
        "min",
        "maxRatio",
        "aggregate",
        "anomaly",
    ),
    MetricJudge.SEQUENTIAL: (*COUNT_QUERIES, "counters", "alpha", "maxRatio"),
    MetricJudge.SEQUENTIAL_LATENCY: (*HISTOGRAM_QUERIES, "threshold", "alpha", "maxRatio"),
    MetricJudge.MANN_WHITNEY: (
        "query",
        "baselineQuery",
        "aggregate",
        "direction",
        "tolerance",
        "confidence",
        "minSamples",
    ),
}
_ANY_JUDGE = ("name", "judge", "dryRun", "onNoData", "errorMetric")


def _metric(node: Node, args: Mapping[str, str], interval: float) -> Metric:
    name = node.name("name", "metric name")
    judge = MetricJudge(node.get("judge", MetricJudge.THRESHOLD.value))
    allowed = {*_ANY_JUDGE, *JUDGE_KEYS[judge]}
    for key in node.mapping_keys():
        if key not in allowed:
            raise node.error(f"not a setting of a {judge} judge", key)
    counts = {k: node.text(k) for k in (*COUNT_QUERIES, *HISTOGRAM_QUERIES) if node.has(k)}
    counters: dict[str, str] = {}
    max_ratio = node.number("maxRatio", None, above=0)
    if judge is MetricJudge.SEQUENTIAL:
        if node.has("counters"):
            if counts:
                raise node.error(
                    "give either counters (gate builds the queries) or the four count queries",
                    next(iter(counts)),
                )
            counters = _counters(node)
        else:
            missing = [k for k in COUNT_QUERIES if k not in counts]
            if missing:
                raise node.error(f"a sequential judge needs counters, or {', '.join(missing)}")
    elif judge is MetricJudge.SEQUENTIAL_LATENCY:
        missing = [k for k in (*HISTOGRAM_QUERIES, "threshold") if not node.has(k)]
        if missing:
            raise node.error(f"a sequential-latency judge needs {', '.join(missing)}")
    else:
        if not node.has("query"):
            raise node.error("a metric needs a query")
        if judge is MetricJudge.MANN_WHITNEY and not node.has("baselineQuery"):
            raise node.error("a mann-whitney judge compares with a baselineQuery")
        if judge is MetricJudge.THRESHOLD:
            if not any(node.has(k) for k in ("max", "min", "maxRatio", "anomaly")):
                raise node.error("a metric needs a limit: max, min, maxRatio or anomaly")
            if node.has("maxRatio") and not node.has("baselineQuery"):
                raise node.error("maxRatio needs a baselineQuery", "maxRatio")
    proving = judge in (MetricJudge.SEQUENTIAL, MetricJudge.SEQUENTIAL_LATENCY)
    if proving and max_ratio is not None and max_ratio <= 1:
        raise node.error(
            "the tolerance a canary is proven within must be above 1 (e.g. 1.5: at most "
            "half again the baseline's rate)",
            "maxRatio",
        )
    for key in ("query", "baselineQuery", *counts):
        if node.has(key):
            check_template(node.text(key), args, node.doc, (*node.path, key))
    for key in COUNT_QUERIES:
        if key in counts:
            _check_ranges(node, key, counts[key], interval)
        if key in counters:
            check_template(counters[key], args, node.doc, (*node.path, "counters", key))
    low = node.number("min", None)
    high = node.number("max", None)
    if low is not None and high is not None and low > high:
        raise node.error(f"min {low:g} is above max {high:g}: no value could pass", "min")
    return Metric(
        name=name,
        query=node.text("query", ""),
        baseline_query=node.text("baselineQuery", None),
        max=high,
        min=low,
        max_ratio=max_ratio,
        error_metric=node.flag("errorMetric", "error" in name and node.has("max")),
        on_no_data=OnNoData(node.get("onNoData", OnNoData.INCONCLUSIVE.value)),
        aggregate=Aggregate(node.get("aggregate", Aggregate.ERROR.value)),
        dry_run=node.flag("dryRun", False),
        judge=judge,
        alpha=node.number("alpha", 0.01, above=0, maximum=0.5),
        count_queries=counts,
        counters=counters,
        threshold=node.number("threshold", None, above=0),
        direction=Direction(node.get("direction", Direction.INCREASE.value)),
        tolerance=node.number("tolerance", 0.25, minimum=0, maximum=10),
        confidence=node.number("confidence", 0.98, above=0.5, below=1),
        min_samples=node.integer("minSamples", 5, minimum=3, maximum=100_000),
        anomaly=(
            parse_anomaly(node["anomaly"], node.text("query"), name)
            if node.has("anomaly")
            else None
        ),
        line=node.line,
    )


def _promote_early(an: Node, metrics: list[Metric]) -> bool:
    """``promoteEarly`` asks for proof: every acting metric must be able to give it."""
    if not an.flag("promoteEarly", False):
        return False
    for m in metrics:
        if not m.dry_run and not m.proves:
            raise an.error(
                f"metric {m.name!r} cannot prove the canary within tolerance: promoteEarly "
                "needs every metric to be a sequential judge with a maxRatio (or dryRun)",
                "promoteEarly",
            )
    return True


def _hook(node: Node, index: int) -> Hook:
    if node.has("command") == node.has("url"):
        raise node.error("a hook has exactly one of command (argv) or url")
    if node.has("command") and (node.has("method") or node.has("headersEnv")):
        key = "method" if node.has("method") else "headersEnv"
        raise node.error("method and headersEnv are for url hooks", key)
    name = node.name("name", "hook name") if node.has("name") else f"hook-{index + 1}"
    return Hook(
        name=name,
        command=node.strings("command", (), min_items=1),
        url=node.url("url", ""),
        method=node.get("method", "POST"),
        headers=node.secret_map("headersEnv"),
        timeout=node.duration("timeout", 60.0, minimum=0.1, maximum=3600),
    )


def _stages(spec: Node, interval: float) -> tuple[Stage, ...]:
    stages = []
    last_weight = -1
    for node in spec["stages"].items():
        weight = node.integer("weight", minimum=0, maximum=100)
        if weight < last_weight:
            raise node.error(f"weights must not go down ({last_weight} before)", "weight")
        last_weight = weight
        duration = node.duration("duration", None, minimum=MIN_INTERVAL)
        if duration is not None and duration < interval:
            raise node.error(
                f"a stage of {node.get('duration')} is shorter than the analysis interval, so "
                "it could never be measured",
                "duration",
            )
        timeout = node.duration("timeout", None, minimum=MIN_INTERVAL)
        if timeout is not None and duration is not None:
            raise node.error("timeout is for a manual stage (one without duration)", "timeout")
        stages.append(
            Stage(
                weight=weight,
                duration=duration,
                timeout=timeout,
                error_threshold=node.number("errorThreshold", None, minimum=0),
                line=node.line,
            )
        )
    if not stages or stages[-1].weight != 100:
        raise spec["stages"][len(stages) - 1].error(
            "the last stage must be weight 100 (promotion)", "weight"
        )
    return tuple(stages)


def parse_rollout(doc: Document) -> RolloutSpec:
    """Validate ``doc`` and build the spec; every problem names its file, line and field."""
    if not isinstance(doc.data, dict):
        raise doc.error((), "expected a mapping at the top level (apiVersion, kind, spec)")
    validate(doc, rollout_schema())
    root = Node(doc)
    meta = root["metadata"]
    name = meta.name("name", "rollout name")
    spec = root["spec"]
    an = spec["analysis"]
    args = {str(k): str(v) for k, v in an.get("args", {}).items()}
    interval = an.duration("interval", DEFAULT_INTERVAL, minimum=MIN_INTERVAL, maximum=3600)
    names: dict[str, int] = {}
    metrics = []
    for i, node in enumerate(an["metrics"].items()):
        metric = _metric(node, args, interval)
        if metric.name in names:
            raise node.error(f"duplicate metric name {metric.name!r}", "name")
        names[metric.name] = i
        metrics.append(metric)
    hooks: dict[HookKind, tuple[Hook, ...]] = {}
    if spec.has("hooks"):
        for kind in HookKind:
            if spec["hooks"].has(kind.value):
                items = spec["hooks"][kind.value].items()
                hooks[kind] = tuple(_hook(h, i) for i, h in enumerate(items))
    flags: tuple[Configured, ...] = ()
    if spec.has("onFailure") and spec["onFailure"].has("flags"):
        flags = tuple(
            parse_block(FLAG_PROVIDERS, n, "flag") for n in spec["onFailure"]["flags"].items()
        )
    notifications: tuple[Configured, ...] = ()
    if spec.has("notifications"):
        notifications = tuple(
            parse_block(NOTIFIERS, n, "notification") for n in spec["notifications"].items()
        )
    return RolloutSpec(
        name=name,
        service=meta.text("service", name),
        traffic=parse_block(ROUTERS, spec["traffic"], "traffic"),
        metrics_provider=parse_block(METRICS_PROVIDERS, spec["metrics"], "metrics"),
        stages=_stages(spec, interval),
        analysis=Analysis(
            metrics=tuple(metrics),
            interval=interval,
            failure_limit=an.integer("failureLimit", 0, maximum=10_000),
            inconclusive_limit=an.integer("inconclusiveLimit", 0, maximum=10_000),
            consecutive_error_limit=an.integer("consecutiveErrorLimit", 4, maximum=10_000),
            on_inconclusive=OnInconclusive(an.get("onInconclusive", "pause")),
            pause_timeout=an.duration("pauseTimeout", DEFAULT_PAUSE_TIMEOUT, minimum=MIN_INTERVAL),
            args=args,
            promote_early=_promote_early(an, metrics),
        ),
        flags=flags,
        hooks=hooks,
        notifications=notifications,
        file=doc.file,
        raw=doc.data,
    )
