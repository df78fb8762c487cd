"""Anomaly detection against a metric's own history.

A deploy with no baseline arm (blue-green, a config push, a migration), a throughput drop, or a
regression that also hits the baseline through a shared dependency is invisible to a
canary-versus-baseline judge. This package compares a metric with itself: now, against the
same time of week over the past N weeks, adjusted to today's level before the deploy.

::

    from gate.anomaly import AnomalySettings, assess

    settings = AnomalySettings(query="histogram_quantile(0.95, ...)", name="p95", unit="s",
                               direction="up", sensitivity=4.5, min_seasons=3)
    result = assess(provider, settings, at=now, since=deploy_started)   # a rollout check
    result = assess(provider, settings, at=now)                         # "anomalous now?"
    result.verdict      # Verdict.NORMAL | ANOMALY | INCONCLUSIVE (too little history)
    result.message      # "p95 412 ms is 4.7 robust σ above its usual 180 ms for Monday 10:00, …"

:func:`gate.anomaly.detector.evaluate` is the pure core (a :class:`Window` of points in, an
:class:`Assessment` out); :mod:`gate.anomaly.history` reads the window through any
:class:`~gate.providers.metrics.interface.MetricsProvider`.
"""

from __future__ import annotations

from gate.anomaly.detector import (
    SENSITIVITY,
    AnomalySettings,
    Assessment,
    Verdict,
    Window,
    evaluate,
)
from gate.anomaly.history import assess, fetch

__all__ = [
    "SENSITIVITY",
    "AnomalySettings",
    "Assessment",
    "Verdict",
    "Window",
    "assess",
    "evaluate",
    "fetch",
]
