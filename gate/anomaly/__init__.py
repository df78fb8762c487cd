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

Both consumers are meant to be thin wrappers around :func:`assess`:

* a rollout metric ``anomaly:`` builds one :class:`AnomalySettings` at spec load (its
  ``ValueError`` messages start with the field name), then at every interval calls
  ``assess(provider, settings, at=now, since=rollout_started)`` and maps the verdict:
  ANOMALY → failure, NORMAL → success, INCONCLUSIVE → inconclusive (never a pass), a
  ``ProviderError`` or ``ValueError`` → error; the measurement's value, baseline and evidence
  are ``value``, ``expected`` and ``evidence`` (≥ 1 fails), its message ``message``;
* a ``gate check`` live check ``type: anomaly`` calls ``assess(provider, settings, at=now)``
  (no deploy start: the last ``current`` seconds against history alone) and blocks on
  ANOMALY with ``message``; INCONCLUSIVE follows the check's fail-open/closed setting.
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
