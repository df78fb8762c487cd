"""Traffic routers by name: the rollout spec's ``traffic.provider`` → a TrafficRouter.

Each backend module is imported only when it is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gate.errors import ConfigError
from gate.providers.traffic.interface import TrafficRouter


def _seconds(settings: Mapping[str, Any], default: float) -> float:
    from gate.rollout.spec import seconds

    return seconds(settings["timeout"]) if "timeout" in settings else default


def _haproxy(s: Mapping[str, Any], service: str) -> TrafficRouter:
    from gate.providers.traffic.haproxy import HAProxyRouter

    return HAProxyRouter(
        socket=s.get("socket"),
        address=s.get("address"),
        backend=s["backend"],
        stable=s["stable"],
        canary=s["canary"],
        timeout=_seconds(s, 5.0),
    )


def _command(s: Mapping[str, Any], service: str) -> TrafficRouter:
    from gate.providers.traffic.command import CommandRouter

    return CommandRouter(
        set_argv=s["set"], get_argv=s.get("get"), service=service, timeout=_seconds(s, 60.0)
    )


def _webhook(s: Mapping[str, Any], service: str) -> TrafficRouter:
    from gate.providers.http_retry import headers_from_env
    from gate.providers.traffic.webhook import WebhookRouter

    return WebhookRouter(
        url=s["url"],
        service=service,
        read_url=s.get("readUrl"),
        read_pointer=s.get("readPointer", "/weight"),
        headers=headers_from_env(s.get("headersEnv"), field="traffic.headersEnv"),
        timeout=_seconds(s, 10.0),
    )


def _dryrun(s: Mapping[str, Any], service: str) -> TrafficRouter:
    from gate.providers.traffic.dryrun import DryRunRouter

    return DryRunRouter()


ROUTERS: dict[str, Callable[[Mapping[str, Any], str], TrafficRouter]] = {
    "haproxy": _haproxy,
    "command": _command,
    "webhook": _webhook,
    "dryrun": _dryrun,
}


def build_router(provider: str, settings: Mapping[str, Any], service: str) -> TrafficRouter:
    try:
        factory = ROUTERS[provider]
    except KeyError:
        raise ConfigError(
            f"unknown traffic provider {provider!r}; one of: {', '.join(ROUTERS)}",
            field="spec.traffic.provider",
        ) from None
    try:
        return factory(settings, service)
    except ValueError as exc:
        raise ConfigError(str(exc), field="spec.traffic") from None
