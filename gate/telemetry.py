"""gate's own metrics while it drives a rollout (prometheus-client, imported only here).

Served on ``--metrics-port`` (127.0.0.1 unless ``--metrics-address`` says otherwise) and/or
pushed to a Pushgateway at every stage change and at the end.

* ``gate_rollout_weight{rollout}``: the canary's share of traffic, percent
* ``gate_rollout_status{rollout}``: 0 running, 1 promoted, 2 rolled back, 3 paused,
  4 rollback failed (a human must act)
* ``gate_rollout_stage{rollout}``: the current stage, from 1
* ``gate_analysis_measurements_total{rollout,metric,result}``
* ``gate_rollout_duration_seconds{rollout}``: time since the rollout started
"""

from __future__ import annotations

import time
from typing import Any

from gate.errors import ConfigError
from gate.rollout.events import RolloutEvent

STATUS = {"promoted": 1, "rolled-back": 2, "paused": 3, "rollback-failed": 4, "resumed": 0,
          "started": 0, "stage-advanced": 0}  # fmt: skip
PUSH_ON = ("started", "stage-advanced", "paused", "promoted", "rolled-back", "rollback-failed")


class Telemetry:
    def __init__(
        self,
        rollout: str,
        *,
        port: int | None = None,
        address: str = "127.0.0.1",
        pushgateway: str | None = None,
    ) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge

        self.rollout = rollout
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
        self.server: Any = None
        self._thread: Any = None
        if port is not None:
            from prometheus_client import start_http_server

            try:
                self.server, self._thread = start_http_server(
                    port, addr=address, registry=self.registry
                )
            except OSError as exc:
                raise ConfigError(
                    f"cannot listen on {address}:{port}: {exc.strerror}", field="--metrics-port"
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
        if self.pushgateway and event.kind in PUSH_ON:
            from prometheus_client import push_to_gateway

            push_to_gateway(
                self.pushgateway,
                job="gate",
                registry=self.registry,
                grouping_key={"rollout": self.rollout},
                timeout=5,
            )

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self._thread.join(5)
            self.server = None
