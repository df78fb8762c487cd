"""The rollout spec: validated against its schema, then turned into frozen records."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.config.loader import Document, PathKey
from gate.config.validate import validate
from gate.rollout.templates import check_template

_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DEFAULT_INTERVAL = 30.0
DEFAULT_PAUSE_TIMEOUT = 1800.0


def seconds(text: str) -> float:
    """``1h30m`` → 5400.0 (the schema has checked the shape)."""
    return sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text))


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
    on_no_data: str = "inconclusive"
    aggregate: str = "error"
    dry_run: bool = False
    judge: str = "threshold"
    alpha: float = 0.01
    count_queries: Mapping[str, str] = field(default_factory=dict)
    threshold: float | None = None  # sequential-latency: the bucket bound, seconds
    line: int | None = None

    def limit_text(self, error_threshold: float | None = None) -> str:
        parts = []
        if self.judge == "sequential":
            parts.append(f"sequential α={self.alpha:g}")
        if self.judge == "sequential-latency":
            parts.append(f"share slower than {self.threshold:g}s, sequential α={self.alpha:g}")
        high = error_threshold if (error_threshold is not None and self.error_metric) else self.max
        if high is not None:
            parts.append(f"≤ {high:g}")
        if self.min is not None:
            parts.append(f"≥ {self.min:g}")
        if self.max_ratio is not None:
            parts.append(f"≤ {self.max_ratio:g}× baseline")
        return ", ".join(parts)


@dataclass(frozen=True)
class Analysis:
    metrics: tuple[Metric, ...]
    interval: float = DEFAULT_INTERVAL
    failure_limit: int = 0
    inconclusive_limit: int = 0
    consecutive_error_limit: int = 4
    on_inconclusive: str = "pause"
    pause_timeout: float = DEFAULT_PAUSE_TIMEOUT
    args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderConfig:
    """A provider block as written (validated by the schema); the registry types it."""

    provider: str
    settings: Mapping[str, Any]
    line: int | None = None


@dataclass(frozen=True)
class Hook:
    name: str
    command: tuple[str, ...] = ()
    url: str = ""
    method: str = "POST"
    headers_env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 60.0


@dataclass(frozen=True)
class RolloutSpec:
    name: str
    service: str
    traffic: ProviderConfig
    metrics_provider: ProviderConfig
    stages: tuple[Stage, ...]
    analysis: Analysis
    flags: tuple[ProviderConfig, ...] = ()
    hooks: Mapping[str, tuple[Hook, ...]] = field(default_factory=dict)
    notifications: tuple[ProviderConfig, ...] = ()
    file: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


def _metric(
    raw: Mapping[str, Any], doc: Document, path: PathKey, args: Mapping[str, str]
) -> Metric:
    judge = raw.get("judge", "threshold")
    needed = {
        "sequential": ("canaryErrors", "canaryRequests", "baselineErrors", "baselineRequests"),
        "sequential-latency": ("canaryHistogram", "baselineHistogram", "threshold"),
        "threshold": (),
    }[judge]
    query_keys = (
        "canaryErrors",
        "canaryRequests",
        "baselineErrors",
        "baselineRequests",
        "canaryHistogram",
        "baselineHistogram",
    )
    counts = {k: raw[k] for k in query_keys if k in raw}
    if judge != "threshold":
        missing = [k for k in needed if k not in raw]
        if missing:
            raise doc.error(path, f"a {judge} judge needs {', '.join(missing)}")
        extra = [k for k in counts if k not in needed]
        if extra:
            raise doc.error((*path, extra[0]), f"not a setting of a {judge} judge")
    else:
        if counts:
            raise doc.error(
                (*path, next(iter(counts))),
                "count and histogram queries are for the sequential judges",
            )
        if "query" not in raw:
            raise doc.error(path, "a metric needs a query")
        if not any(k in raw for k in ("max", "min", "maxRatio")):
            raise doc.error(path, "a metric needs a limit: max, min or maxRatio")
        if "maxRatio" in raw and "baselineQuery" not in raw:
            raise doc.error((*path, "maxRatio"), "maxRatio needs a baselineQuery")
    for key in ("query", "baselineQuery", *counts):
        if key in raw:
            check_template(raw[key], args, doc, (*path, key))
    name = raw["name"]
    return Metric(
        name=name,
        query=raw.get("query", ""),
        baseline_query=raw.get("baselineQuery"),
        max=raw.get("max"),
        min=raw.get("min"),
        max_ratio=raw.get("maxRatio"),
        error_metric=raw.get("errorMetric", "error" in name.lower() and "max" in raw),
        on_no_data=raw.get("onNoData", "inconclusive"),
        aggregate=raw.get("aggregate", "error"),
        dry_run=raw.get("dryRun", False),
        judge=judge,
        alpha=raw.get("alpha", 0.01),
        count_queries=counts,
        threshold=raw.get("threshold"),
        line=doc.line_of(path),
    )


def _hook(raw: Mapping[str, Any], doc: Document, path: PathKey, index: int) -> Hook:
    if ("command" in raw) == ("url" in raw):
        raise doc.error(path, "a hook has exactly one of command (argv) or url")
    return Hook(
        name=raw.get("name", f"hook-{index + 1}"),
        command=tuple(raw.get("command", ())),
        url=raw.get("url", ""),
        method=raw.get("method", "POST"),
        headers_env=dict(raw.get("headersEnv", {})),
        timeout=seconds(raw["timeout"]) if "timeout" in raw else 60.0,
    )


def parse_rollout(doc: Document) -> RolloutSpec:
    """Validate ``doc`` and build the spec; every problem names its file, line and field."""
    if not isinstance(doc.data, dict):
        raise doc.error((), "expected a mapping at the top level (apiVersion, kind, spec)")
    validate(doc, "rollout")
    data: dict[str, Any] = doc.data
    spec = data["spec"]
    an = spec["analysis"]
    args = {str(k): str(v) for k, v in an.get("args", {}).items()}
    names: dict[str, int] = {}
    metrics = []
    for i, raw in enumerate(an["metrics"]):
        path: PathKey = ("spec", "analysis", "metrics", i)
        if raw["name"] in names:
            raise doc.error((*path, "name"), f"duplicate metric name {raw['name']!r}")
        names[raw["name"]] = i
        metrics.append(_metric(raw, doc, path, args))
    stages = []
    last_weight = -1
    for i, raw in enumerate(spec["stages"]):
        path = ("spec", "stages", i)
        if raw["weight"] < last_weight:
            raise doc.error((*path, "weight"), f"weights must not go down ({last_weight} before)")
        last_weight = raw["weight"]
        stages.append(
            Stage(
                weight=raw["weight"],
                duration=seconds(raw["duration"]) if "duration" in raw else None,
                timeout=seconds(raw["timeout"]) if "timeout" in raw else None,
                error_threshold=raw.get("errorThreshold"),
                line=doc.line_of(path),
            )
        )
    if stages[-1].weight != 100:
        raise doc.error(
            ("spec", "stages", len(stages) - 1, "weight"),
            "the last stage must be weight 100 (promotion)",
        )
    interval = seconds(an["interval"]) if "interval" in an else DEFAULT_INTERVAL
    if interval <= 0:
        raise doc.error(("spec", "analysis", "interval"), "interval must be longer than zero")
    traffic = spec["traffic"]
    _check_traffic(traffic, doc)
    hooks = {
        kind: tuple(_hook(h, doc, ("spec", "hooks", kind, i), i) for i, h in enumerate(items))
        for kind, items in spec.get("hooks", {}).items()
    }
    return RolloutSpec(
        name=data["metadata"]["name"],
        service=data["metadata"].get("service", data["metadata"]["name"]),
        traffic=ProviderConfig(
            traffic["provider"], dict(traffic), doc.line_of(("spec", "traffic"))
        ),
        metrics_provider=ProviderConfig(
            spec["metrics"]["provider"], dict(spec["metrics"]), doc.line_of(("spec", "metrics"))
        ),
        stages=tuple(stages),
        analysis=Analysis(
            metrics=tuple(metrics),
            interval=interval,
            failure_limit=an.get("failureLimit", 0),
            inconclusive_limit=an.get("inconclusiveLimit", 0),
            consecutive_error_limit=an.get("consecutiveErrorLimit", 4),
            on_inconclusive=an.get("onInconclusive", "pause"),
            pause_timeout=seconds(an["pauseTimeout"])
            if "pauseTimeout" in an
            else DEFAULT_PAUSE_TIMEOUT,
            args=args,
        ),
        flags=tuple(
            ProviderConfig(f["provider"], dict(f), doc.line_of(("spec", "onFailure", "flags", i)))
            for i, f in enumerate(spec.get("onFailure", {}).get("flags", []))
        ),
        hooks=hooks,
        notifications=tuple(
            ProviderConfig(n["provider"], dict(n), doc.line_of(("spec", "notifications", i)))
            for i, n in enumerate(spec.get("notifications", []))
        ),
        file=doc.file,
        raw=data,
    )


_TRAFFIC_NEEDS = {
    "haproxy": ("backend", "stable", "canary"),
    "command": ("set",),
    "webhook": ("url",),
    "dryrun": (),
}


def _check_traffic(traffic: Mapping[str, Any], doc: Document) -> None:
    provider = traffic["provider"]
    path: PathKey = ("spec", "traffic")
    for key in _TRAFFIC_NEEDS[provider]:
        if key not in traffic:
            raise doc.error(path, f"the {provider} traffic provider needs {key!r}")
    if provider == "haproxy" and ("socket" in traffic) == ("address" in traffic):
        raise doc.error(path, "give exactly one of socket (a path) or address (host:port)")
