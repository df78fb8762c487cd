"""``gate judge``: one canary-versus-baseline analysis over a time range from Prometheus."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import click

from gate.errors import EXIT_BLOCK, EXIT_OK, ConfigError

_SPAN = re.compile(r"^([0-9]+)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _span(text: str, option: str) -> float:
    m = _SPAN.match(text)
    if not m:
        raise ConfigError(f"{text!r} is not a duration such as 90s, 30m or 2h", field=option)
    return int(m.group(1)) * _UNIT[m.group(2)]


def _time(text: str, option: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{text!r} is not an ISO 8601 date-time", field=option) from None
    if t.tzinfo is None:
        raise ConfigError(f"{text!r} needs a UTC offset", field=option)
    return t


@click.command(
    epilog="""\b
Example (errors and requests per minute, last 30 minutes):
  gate judge --url http://127.0.0.1:9090 --last 30m --step 1m \\
    --canary-errors 'sum(increase(http_requests_total{version="canary",code=~"5.."}[1m]))' \\
    --canary-requests 'sum(increase(http_requests_total{version="canary"}[1m]))' \\
    --baseline-errors 'sum(increase(http_requests_total{version="stable",code=~"5.."}[1m]))' \\
    --baseline-requests 'sum(increase(http_requests_total{version="stable"}[1m]))'

\b
Exit codes: 0 no evidence the canary is worse, 1 the canary is worse, 2 bad input."""
)
@click.option("--url", envvar="GATE_PROMETHEUS_URL", required=True, help="Prometheus base URL.")
@click.option("--canary-errors", required=True, metavar="QUERY")
@click.option("--canary-requests", required=True, metavar="QUERY")
@click.option("--baseline-errors", required=True, metavar="QUERY")
@click.option("--baseline-requests", required=True, metavar="QUERY")
@click.option("--last", default=None, metavar="SPAN", help="Judge the last SPAN (e.g. 30m).")
@click.option("--start", default=None, metavar="ISO", help="Start of the range (with --end).")
@click.option("--end", default=None, metavar="ISO", help="End of the range (default now).")
@click.option(
    "--step",
    default="1m",
    show_default=True,
    metavar="SPAN",
    help="Window length; each query must give the increase over one step.",
)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 0.5, min_open=True),
    default=0.01,
    show_default=True,
    help="Bound on the chance of failing a good canary.",
)
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text")
def judge(
    url: str,
    canary_errors: str,
    canary_requests: str,
    baseline_errors: str,
    baseline_requests: str,
    last: str | None,
    start: str | None,
    end: str | None,
    step: str,
    alpha: float,
    fmt: str,
) -> int:
    """Is the canary's error rate worse than the baseline's? (anytime-valid sequential test)"""
    from gate.judge.history import judge_range
    from gate.providers.metrics.prometheus import PrometheusProvider

    if (last is None) == (start is None):
        raise ConfigError("give either --last SPAN or --start ISO", field="--last")
    end_t = _time(end, "--end") if end else datetime.now(UTC)
    start_t = (
        end_t - timedelta(seconds=_span(last, "--last")) if last else _time(start or "", "--start")
    )
    if start_t >= end_t:
        raise ConfigError("the range is empty: start is not before end", field="--start")
    queries = {
        "canary_errors": canary_errors,
        "canary_requests": canary_requests,
        "baseline_errors": baseline_errors,
        "baseline_requests": baseline_requests,
    }
    with PrometheusProvider(url) as provider:
        result = judge_range(provider, queries, start_t, end_t, _span(step, "--step"), alpha)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "verdict": result.verdict,
                    "windows": result.windows,
                    "failed_at": result.failed_at,
                    "totals": result.totals,
                    "alpha": alpha,
                }
            )
        )
    else:

        def rate(x: float | None) -> str:
            return "no traffic" if x is None else f"{x:.3%}"

        when = (
            f" at {datetime.fromtimestamp(result.failed_at, UTC).isoformat()}"
            if result.failed_at
            else ""
        )
        click.echo(
            f"{result.verdict.upper()}{when}: canary {rate(result.canary_rate)} vs "
            f"baseline {rate(result.baseline_rate)} over {result.windows} windows "
            f"(α = {alpha:g})"
        )
    return EXIT_BLOCK if result.verdict == "fail" else EXIT_OK


def register(cli: click.Group) -> None:
    cli.add_command(judge)
