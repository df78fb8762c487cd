"""Traffic routers by name: ``spec.traffic.provider`` → settings record and factory.

Each backend module is imported only when a router is built.
"""

from __future__ import annotations

from typing import Any

from gate.providers.registry import Backend, BuildContext
from gate.providers.traffic.interface import TrafficRouter
from gate.providers.traffic.settings import (
    CommandSettings,
    DryRunSettings,
    HAProxySettings,
    WebhookSettings,
)
from gate.secrets import reveal


def _haproxy(s: HAProxySettings, context: BuildContext) -> TrafficRouter:
    from gate.providers.traffic.haproxy import HAProxyRouter

    address = None if s.address is None else f"[{s.address[0]}]:{s.address[1]}"
    return HAProxyRouter(
        socket=s.socket,
        address=address,
        backend=s.backend,
        stable=s.stable,
        canary=s.canary,
        timeout=s.timeout,
    )


def _command(s: CommandSettings, context: BuildContext) -> TrafficRouter:
    from gate.providers.traffic.command import CommandRouter

    return CommandRouter(
        set_argv=s.set_argv, get_argv=s.get_argv, service=context.service, timeout=s.timeout
    )


def _webhook(s: WebhookSettings, context: BuildContext) -> TrafficRouter:
    from gate.providers.traffic.webhook import WebhookRouter

    return WebhookRouter(
        url=s.url,
        service=context.service,
        read_url=s.read_url,
        read_pointer=s.read_pointer,
        headers={header: reveal(ref) for header, ref in s.headers},
        timeout=s.timeout,
    )


def _dryrun(s: DryRunSettings, context: BuildContext) -> TrafficRouter:
    from gate.providers.traffic.dryrun import DryRunRouter

    return DryRunRouter()


ROUTERS: dict[str, Backend[TrafficRouter]] = {
    "haproxy": Backend(HAProxySettings, _haproxy),
    "command": Backend(CommandSettings, _command),
    "webhook": Backend(WebhookSettings, _webhook),
    "dryrun": Backend(DryRunSettings, _dryrun),
}


def dry_run_router() -> Any:
    from gate.providers.traffic.dryrun import DryRunRouter

    return DryRunRouter()
