"""Metrics providers by name: ``spec.metrics.provider`` → settings record and factory."""

from __future__ import annotations

from gate.providers.metrics.interface import MetricsProvider
from gate.providers.metrics.settings import PrometheusSettings
from gate.providers.registry import Backend, BuildContext
from gate.secrets import reveal


def _prometheus(s: PrometheusSettings, context: BuildContext) -> MetricsProvider:
    from gate.providers.metrics.prometheus import PrometheusProvider

    return PrometheusProvider(
        s.url, timeout=s.timeout, headers={header: reveal(ref) for header, ref in s.headers}
    )


PROVIDERS: dict[str, Backend[MetricsProvider]] = {
    "prometheus": Backend(PrometheusSettings, _prometheus),
}
