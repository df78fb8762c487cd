"""What one ``gate serve`` worker loads once at start-up and shares between requests.

Policies and kill switches are read and validated here, so a broken file stops start-up with
exit 2 rather than failing requests later. Prometheus clients are kept per allowed URL (an
``httpx.Client`` is safe to share between threads). Nothing a request says is remembered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from gate.errors import ConfigError
from gate.policy.model import Policy
from gate.providers.metrics.interface import MetricsProvider
from gate.serve.killswitches import KillSwitchConfig, load_kill_switches
from gate.serve.settings import ServeSettings
from gate.serve.state import NoSharedState, RollbackRequests

MetricsFactory = Callable[[str], MetricsProvider]


def load_server_policies(settings: ServeSettings) -> list[Policy]:
    """The policies ``gate check`` would load with the same flags (live checks included)."""
    from gate.policy.load import load_policies

    policies = load_policies(
        list(settings.policies), include_default=settings.include_default_policy
    )
    if not policies:
        raise ConfigError("no policy to apply: give --policy or drop --no-default-policy")
    return policies


def shared_state(settings: ServeSettings) -> RollbackRequests | None:
    """The shared store's rollback requests, when one is configured (--state-url, or
    GATE_STATE_URL in the environment)."""
    import os

    url = settings.state_url or os.environ.get("GATE_STATE_URL") or None
    if url is None:
        return None
    from gate.rollout.stores import open_store
    from gate.serve.state import StoredRollbackRequests

    return StoredRollbackRequests(open_store(url=url))


class Service:
    def __init__(
        self,
        settings: ServeSettings,
        policies: Sequence[Policy],
        *,
        kill_switches: KillSwitchConfig | None = None,
        rollback_requests: RollbackRequests | None = None,
        metrics: MetricsFactory | None = None,
    ) -> None:
        self.settings = settings
        self.policies = list(policies)
        self.kill_switches = kill_switches or KillSwitchConfig()
        self.rollback_requests: RollbackRequests = rollback_requests or NoSharedState()
        self.allowed_prometheus = settings.allowed_prometheus()
        self._metrics_factory = metrics or self._prometheus
        self._providers: dict[str, MetricsProvider] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        settings: ServeSettings,
        *,
        rollback_requests: RollbackRequests | None = None,
        metrics: MetricsFactory | None = None,
    ) -> Service:
        """Read and validate the server's files; any mistake is a ConfigError (exit 2), a
        secret its policies' live checks name and the environment lacks too."""
        from gate.checks.runner import secrets_set

        policies = load_server_policies(settings)
        secrets_set([spec for p in policies for spec in p.checks])
        return cls(
            settings,
            policies,
            kill_switches=load_kill_switches(settings.kill_switches),
            rollback_requests=rollback_requests or shared_state(settings),
            metrics=metrics,
        )

    def _prometheus(self, url: str) -> MetricsProvider:
        from gate.providers.metrics.prometheus import PrometheusProvider

        return PrometheusProvider(url, timeout=self.settings.prometheus_timeout, retries=1)

    def metrics(self, url: str) -> MetricsProvider:
        """The client for ``url``, a normalised URL from the allow-list."""
        if url not in self.allowed_prometheus:
            raise ValueError(f"{url} is not an allowed Prometheus")  # callers check first
        with self._lock:
            provider = self._providers.get(url)
            if provider is None:
                provider = self._providers[url] = self._metrics_factory(url)
            return provider

    def close(self) -> None:
        with self._lock:
            providers, self._providers = list(self._providers.values()), {}
        for provider in providers:
            provider.close()
