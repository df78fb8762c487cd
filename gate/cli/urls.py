"""URLs given as options, checked as a spec's URLs are before anything runs: http or https,
a host, a valid port. A password is taken only from the environment (a command line is
visible to every user of the machine), and is then kept out of every message."""

from __future__ import annotations

import re

import click

_AUTHORITY = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)(.*)$", re.DOTALL)


def _from_environment(ctx: click.Context, param: click.Parameter) -> bool:
    from click.core import ParameterSource

    source = ctx.get_parameter_source(param.name) if param.name else None
    return source is ParameterSource.ENVIRONMENT


def prometheus_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """click callback for a Prometheus base URL (user and password allowed from the
    environment only)."""
    if value is None:
        return None
    from gate.config.node import check_url
    from gate.secrets import remember

    match = _AUTHORITY.match(value)
    userinfo, at, host = match.group(2).rpartition("@") if match else ("", "", "")
    if at:
        if not _from_environment(ctx, param):
            raise click.BadParameter(
                "the URL holds credentials, and a command line is visible to every user of "
                f"this machine; put the URL in {param.envvar or 'the environment'}"
            )
        remember(userinfo)
        remember(userinfo.partition(":")[2])
        bare = f"{match.group(1)}{host}{match.group(3)}" if match else value
    else:
        bare = value
    try:
        check_url(bare)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def pushgateway_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """click callback for a Pushgateway: ``host:port`` (as prometheus-client takes it) or an
    http(s) URL, without credentials."""
    if value is None:
        return None
    from gate.config.node import check_url

    try:
        check_url(value if "://" in value else f"http://{value}")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value
