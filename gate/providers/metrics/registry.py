"""Metrics providers by name: the rollout spec's ``metrics.provider`` → a MetricsProvider."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gate.errors import ConfigError
from gate.providers.metrics.interface import MetricsProvider


def _prometheus(s: Mapping[str, Any]) -> MetricsProvider:
    from gate.providers.http_retry import headers_from_env
    from gate.providers.metrics.prometheus import PrometheusProvider
    from gate.rollout.spec import seconds

    return PrometheusProvider(
        s["url"],
        timeout=seconds(s["timeout"]) if "timeout" in s else 10.0,
        headers=headers_from_env(s.get("headersEnv"), field="metrics.headersEnv"),
    )


PROVIDERS: dict[str, Callable[[Mapping[str, Any]], MetricsProvider]] = {"prometheus": _prometheus}


def build_metrics(provider: str, settings: Mapping[str, Any]) -> MetricsProvider:
    try:
        factory = PROVIDERS[provider]
    except KeyError:
        raise ConfigError(f"unknown metrics provider {provider!r}", field="spec.metrics") from None
    return factory(settings)
