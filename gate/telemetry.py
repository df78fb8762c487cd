"""gate's own metrics while it drives a rollout (prometheus-client, imported only here).

Served on ``--metrics-port`` (127.0.0.1 unless ``--metrics-address`` says otherwise) and/or
pushed to a Pushgateway at every stage change and at the end.

* ``gate_rollout_weight{rollout}``: the canary's share of traffic, percent
* ``gate_rollout_status{rollout}``: 0 running, 1 promoted, 2 rolled back, 3 paused,
  4 rollback failed (a human must act)
* ``gate_rollout_stage{rollout}``: the current stage, from 1
* ``gate_analysis_measurements_total{rollout,metric,result}``
* ``gate_rollout_duration_seconds{rollout}``: time since the rollout started
* ``gate_rollouts_total{rollout,result}``: finished rollouts by result (promoted, rolled-back,
  rollback-failed, interrupted)
* ``gate_rollout_time_to_detect_seconds{rollout}``: histogram, from the start of the window of
  the first failing measurement to the decision to roll back (as ``gate report`` counts it)
* ``gate_rollout_time_to_restore_seconds{rollout}``: histogram, from that decision to stable
  traffic verified
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from gate.errors import ConfigError
from gate.rollout.events import RolloutEvent

STATUS = {"promoted": 1, "rolled-back": 2, "paused": 3, "rollback-failed": 4, "resumed": 0,
          "started": 0, "stage-advanced": 0}  # fmt: skip
PUSH_ON = ("started", "stage-advanced", "paused", "promoted", "rolled-back", "rollback-failed")
RESULTS = ("promoted", "rolled-back", "rollback-failed", "interrupted")
DETECT_BUCKETS = (5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
RESTORE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0)


class Telemetry:
    def __init__(
        self,
        rollout: str,
        *,
        port: int | None = None,
        address: str = "127.0.0.1",
        pushgateway: str | None = None,
        interval: float = 0.0,
    ) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.rollout = rollout
        self.interval = interval  # the analysis interval: a measurement's window
        self._first_failure: Any = None  # the start of the first failing measurement's window
        self._last_measured: Any = None
        self._decided: Any = None  # when the rollback was decided
        self._analysis_failing = False  # the last measurements did not all succeed
        self.pushgateway = pushgateway
        self.registry = CollectorRegistry()
        self._started = time.monotonic()
        self.weight = Gauge(
            "gate_rollout_weight",
            "Canary share of traffic, percent",
            ["rollout"],
            registry=self.registry,
        )
        self.status = Gauge(
            "gate_rollout_status",
            "0 running, 1 promoted, 2 rolled back, 3 paused, 4 rollback failed",
            ["rollout"],
            registry=self.registry,
        )
        self.stage = Gauge(
            "gate_rollout_stage", "Current stage, from 1", ["rollout"], registry=self.registry
        )
        self.duration = Gauge(
            "gate_rollout_duration_seconds",
            "Seconds since the rollout started",
            ["rollout"],
            registry=self.registry,
        )
        self.measurements = Counter(
            "gate_analysis_measurements",
            "Analysis measurements",
            ["rollout", "metric", "result"],
            registry=self.registry,
        )
        self.results = Counter(
            "gate_rollouts",
            "Finished rollouts by result",
            ["rollout", "result"],
            registry=self.registry,
        )
        self.time_to_detect = Histogram(
            "gate_rollout_time_to_detect_seconds",
            "First failing measurement's window start to the decision to roll back",
            ["rollout"],
            buckets=DETECT_BUCKETS,
            registry=self.registry,
        )
        self.time_to_restore = Histogram(
            "gate_rollout_time_to_restore_seconds",
            "Decision to roll back to stable traffic verified",
            ["rollout"],
            buckets=RESTORE_BUCKETS,
            registry=self.registry,
        )
        self.server: Any = None
        self._thread: Any = None
        if port is not None:
            from prometheus_client import start_http_server

            try:
                self.server, self._thread = start_http_server(
                    port, addr=address, registry=self.registry
                )
            except (OSError, UnicodeError) as exc:  # UnicodeError: a host name IDNA refuses
                reason = getattr(exc, "strerror", None) or str(exc)
                raise ConfigError(
                    f"cannot listen on {address}:{port}: {reason}", field="--metrics-port"
                ) from None

    def __call__(self, event: RolloutEvent) -> None:
        labels = {"rollout": self.rollout}
        if event.weight is not None:
            self.weight.labels(**labels).set(event.weight)
        self.stage.labels(**labels).set(event.stage + 1)
        self.duration.labels(**labels).set(time.monotonic() - self._started)
        if event.kind in STATUS:
            self.status.labels(**labels).set(STATUS[event.kind])
        for m in event.measurements:
            self.measurements.labels(self.rollout, m.metric, m.outcome.value).inc()
        self._delivery(event)
        if self.pushgateway and event.kind in PUSH_ON:
            from prometheus_client import push_to_gateway

            push_to_gateway(
                self.pushgateway,
                job="gate",
                registry=self.registry,
                grouping_key={"rollout": self.rollout},
                timeout=5,
            )

    def _delivery(self, event: RolloutEvent) -> None:
        """Rollouts by result, time to detect and time to restore."""
        acting = [m.outcome.value for m in event.measurements if not m.dry_run]
        if event.kind == "measured":
            self._analysis_failing = any(o != "success" for o in acting)
            if "failure" in acting and self._first_failure is None:
                # its window: the analysis interval before it; when the interval is not known
                # (a resumed rollout), since the measurement before it
                self._first_failure = (
                    event.at - timedelta(seconds=self.interval)
                    if self.interval > 0 or self._last_measured is None
                    else self._last_measured
                )
            self._last_measured = event.at
        elif event.kind == "rolling-back" and self._decided is None:
            self._decided = event.at
            # detected by the analysis (not an abort by hand, not a failed hook)
            if self._first_failure is not None and self._analysis_failing:
                seconds = (event.at - self._first_failure).total_seconds()
                self.time_to_detect.labels(self.rollout).observe(seconds)
        elif event.kind == "traffic-restored" and self._decided is not None:
            seconds = (event.at - self._decided).total_seconds()
            self.time_to_restore.labels(self.rollout).observe(seconds)
        if event.kind in RESULTS:
            self.results.labels(self.rollout, event.kind).inc()

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self._thread.join(5)
            self.server = None
