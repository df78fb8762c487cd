"""``gate judge``: one canary-versus-baseline judgement over a time range from Prometheus."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import click

from gate.cli.urls import prometheus_url
from gate.errors import EXIT_BLOCK, EXIT_INCONCLUSIVE, EXIT_OK, ConfigError, ProviderUnavailable

if TYPE_CHECKING:
    from gate.judge.history import Judgement

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


def _rate(errors: int, requests: int) -> str:
    return f"{requests:,} requests, {errors:,} errors" + (
        f" ({errors / requests:.3%})" if requests else ""
    )


def _text(result: Judgement) -> str:
    c = result.counts
    moment = result.failed_at if result.failed_at is not None else result.proven_at
    when = f" at {datetime.fromtimestamp(moment, UTC).isoformat()}" if moment is not None else ""
    return (
        f"{str(result.verdict).upper()}{when}: {result.reason}\n"
        f"  canary {_rate(c.canary_errors, c.canary_requests)}; "
        f"baseline {_rate(c.baseline_errors, c.baseline_requests)}; "
        f"{result.windows} windows, {result.windows_with_data} with traffic in both"
    )


EXIT_FOR = {"pass": EXIT_OK, "fail": EXIT_BLOCK, "inconclusive": EXIT_INCONCLUSIVE}


@click.command(
    epilog=f"""\b
Example (errors and requests per minute, last 30 minutes):
  gate judge --url http://127.0.0.1:9090 --last 30m --step 1m \\
    --canary-errors 'sum(increase(http_requests_total{{version="canary",code=~"5.."}}[1m]))' \\
    --canary-requests 'sum(increase(http_requests_total{{version="canary"}}[1m]))' \\
    --baseline-errors 'sum(increase(http_requests_total{{version="stable",code=~"5.."}}[1m]))' \\
    --baseline-requests 'sum(increase(http_requests_total{{version="stable"}}[1m]))'

\b
Three answers, each with the anytime-valid bounds on the ratio canary error rate /
baseline error rate ("ratio ≤ 1.31 with 99 % confidence"):
  pass          the canary is proven within --max-ratio of the baseline
  fail          the canary's error rate is significantly above the baseline's
  inconclusive  neither: no data, or too little to decide (never a pass)
A false fail of a good canary, and a false pass of one worse than --max-ratio, each
happen with probability at most --alpha, however many steps are looked at (with --wait,
as the range grows, too).

\b
Kayenta's way, for any metric (one value per step and arm; judge once, at a stage's end):
  gate judge --method mann-whitney --url http://127.0.0.1:9090 --last 10m --step 30s \\
    --canary 'histogram_quantile(0.99, sum by (le) (rate(lat_bucket{{v="canary"}}[1m])))' \\
    --baseline 'histogram_quantile(0.99, sum by (le) (rate(lat_bucket{{v="stable"}}[1m])))'
pass: no shift beyond --tolerance × |estimate| at --confidence, with 10+ values per arm;
fail: Kayenta's High or Low in a --direction that counts; inconclusive: fewer values.

\b
Exit codes: 0 pass, 1 fail, {EXIT_INCONCLUSIVE} inconclusive (also when Prometheus cannot be
reached: no judgement was possible), 2 bad input (options, queries that Prometheus
refuses, range selectors that are not the step), 3 internal error."""
)
@click.option(
    "--url",
    envvar="GATE_PROMETHEUS_URL",
    required=True,
    callback=prometheus_url,
    help="Prometheus base URL (with a password only through GATE_PROMETHEUS_URL).",
)
@click.option(
    "--method",
    type=click.Choice(["sequential", "mann-whitney"]),
    default="sequential",
    show_default=True,
    help="sequential: error counts, anytime-valid; mann-whitney: any metric, Kayenta's way.",
)
@click.option("--canary-errors", metavar="QUERY", help="sequential: canary errors per step.")
@click.option("--canary-requests", metavar="QUERY", help="sequential: canary requests per step.")
@click.option("--baseline-errors", metavar="QUERY", help="sequential: baseline errors per step.")
@click.option(
    "--baseline-requests", metavar="QUERY", help="sequential: baseline requests per step."
)
@click.option("--canary", metavar="QUERY", help="mann-whitney: the canary's metric.")
@click.option("--baseline", metavar="QUERY", help="mann-whitney: the baseline's metric.")
@click.option(
    "--direction",
    type=click.Choice(["either", "increase", "decrease"]),
    default="either",
    show_default=True,
    help="mann-whitney: which change of the metric fails the canary.",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(0, min_open=False),
    default=0.25,
    show_default=True,
    help="mann-whitney: a shift smaller than this × |estimate| passes (Kayenta's).",
)
@click.option(
    "--confidence",
    type=click.FloatRange(0.5, 1, max_open=True),
    default=0.98,
    show_default=True,
    help="mann-whitney: confidence of the shift's interval (Kayenta's 98 %).",
)
@click.option("--last", default=None, metavar="SPAN", help="Judge the last SPAN (e.g. 30m).")
@click.option("--start", default=None, metavar="ISO", help="Start of the range (with --end).")
@click.option("--end", default=None, metavar="ISO", help="End of the range (default now).")
@click.option(
    "--step",
    default="1m",
    show_default=True,
    metavar="SPAN",
    help="Window length; each query must give the increase over exactly one step.",
)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 0.5, min_open=True),
    default=0.01,
    show_default=True,
    help="Bound on the chance of failing a good canary, and of passing a bad one.",
)
@click.option(
    "--max-ratio",
    type=click.FloatRange(1, 32, min_open=True, max_open=True),
    default=1.5,
    show_default=True,
    help="Tolerance: pass once the canary's error rate is proven at most this × the baseline's.",
)
@click.option(
    "--wait",
    default=None,
    metavar="SPAN",
    help="While inconclusive, judge again every step as data comes in, for up to SPAN.",
)
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text")
def judge(
    url: str,
    method: str,
    canary_errors: str | None,
    canary_requests: str | None,
    baseline_errors: str | None,
    baseline_requests: str | None,
    canary: str | None,
    baseline: str | None,
    direction: str,
    tolerance: float,
    confidence: float,
    last: str | None,
    start: str | None,
    end: str | None,
    step: str,
    alpha: float,
    max_ratio: float,
    wait: str | None,
    fmt: str,
) -> int:
    """Is the canary's error rate worse than the baseline's, or proven within tolerance?
    (an anytime-valid sequential test; or, with --method mann-whitney, Kayenta's judgement of
    any metric, fixed-horizon: judge a canary once, at the end of a stage)"""
    from gate.judge.history import judge_range, judge_series_range, judge_until
    from gate.providers.metrics.prometheus import PrometheusProvider

    if (last is None) == (start is None):
        raise ConfigError("give either --last SPAN or --start ISO", field="--last")
    if wait is not None and end is not None:
        raise ConfigError("--wait judges up to now; leave out --end", field="--wait")
    end_t = _time(end, "--end") if end else datetime.now(UTC)
    start_t = (
        end_t - timedelta(seconds=_span(last, "--last")) if last else _time(start or "", "--start")
    )
    if start_t >= end_t:
        raise ConfigError("the range is empty: start is not before end", field="--start")
    step_s = _span(step, "--step")
    wait_s = _span(wait, "--wait") if wait is not None else None
    counts = {
        "canary_errors": canary_errors,
        "canary_requests": canary_requests,
        "baseline_errors": baseline_errors,
        "baseline_requests": baseline_requests,
    }
    series = {"canary": canary, "baseline": baseline}
    needed, unused = (series, counts) if method == "mann-whitney" else (counts, series)
    for name, query in needed.items():
        if not query:
            option = f"--{name.replace('_', '-')}"
            raise ConfigError(f"{option} is required with --method {method}", field=option)
    for name, query in unused.items():
        if query:
            option = f"--{name.replace('_', '-')}"
            raise ConfigError(f"not an option of --method {method}", field=option)
    if method == "mann-whitney" and wait_s is not None:
        raise ConfigError(
            "mann-whitney is fixed-horizon: judge once, without --wait", field="--wait"
        )
    queries = {k: v for k, v in counts.items() if v}
    try:
        with PrometheusProvider(url) as provider:
            if method == "mann-whitney":
                assert canary is not None
                assert baseline is not None
                series_result = judge_series_range(
                    provider,
                    canary,
                    baseline,
                    start_t,
                    end_t,
                    step_s,
                    confidence=confidence,
                    tolerance=tolerance,
                    direction=direction,
                )
            elif wait_s is None:
                result = judge_range(
                    provider, queries, start_t, end_t, step_s, alpha, max_ratio=max_ratio
                )
            else:
                result = judge_until(
                    provider,
                    queries,
                    start_t,
                    end_t + timedelta(seconds=wait_s),
                    step_s,
                    alpha,
                    max_ratio=max_ratio,
                    sleep=time.sleep,
                )
    except ProviderUnavailable as exc:
        message = f"no judgement: the metrics server is unavailable: {exc}"
        if fmt == "json":
            click.echo(json.dumps({"verdict": "inconclusive", "reason": message, "error": True}))
        else:
            click.echo(f"INCONCLUSIVE: {message}")
        return EXIT_INCONCLUSIVE
    if method == "mann-whitney":
        if fmt == "json":
            click.echo(json.dumps(series_result.as_dict()))
        else:
            click.echo(
                f"{str(series_result.verdict).upper()}: {series_result.reason}\n"
                f"  Kayenta: {series_result.classification.classification}; "
                f"{series_result.canary_points} canary and {series_result.baseline_points} "
                "baseline values"
            )
        return EXIT_FOR[str(series_result.verdict)]
    if fmt == "json":
        click.echo(json.dumps(result.as_dict()))
    else:
        click.echo(_text(result))
    return EXIT_FOR[str(result.verdict)]


def register(cli: click.Group) -> None:
    cli.add_command(judge)
