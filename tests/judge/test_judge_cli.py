"""``gate judge`` end to end: exit codes, text and JSON, against a real Prometheus.

The Prometheus tests backfill an hour of counters with ``promtool tsdb
create-blocks-from openmetrics`` and start Prometheus on that TSDB, so the history is exact
and nothing waits for scrapes.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gate.cli import main
from tests.integration.stack import _Process, free_port

QUERY = "sum(increase({name}_total{{service=%r,track=%r}}[1m]))"
START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
MINUTES = 60


def args(service: str, *extra: str, url: str = "http://127.0.0.1:9") -> list[str]:
    def q(name: str, track: str) -> str:
        return QUERY.format(name=name) % (service, track)

    return [
        "judge",
        "--url",
        url,
        "--canary-errors",
        q("errors", "canary"),
        "--canary-requests",
        q("requests", "canary"),
        "--baseline-errors",
        q("errors", "stable"),
        "--baseline-requests",
        q("requests", "stable"),
        *extra,
    ]


def test_bad_input_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*args("x"), "--last", "30 minutes"]) == 2
    assert "--last: '30 minutes' is not a duration" in capsys.readouterr().err
    assert main(args("x")) == 2
    assert "give either --last SPAN or --start ISO" in capsys.readouterr().err
    assert main([*args("x"), "--last", "5m", "--end", "2026-01-01T00:00:00Z", "--wait", "5m"]) == 2
    assert "--wait: --wait judges up to now; leave out --end" in capsys.readouterr().err
    assert main([*args("x"), "--last", "5m", "--step", "5m"]) == 2
    assert "the range [1m] is not the step (300s)" in capsys.readouterr().err


@pytest.mark.slow
def test_prometheus_unreachable_is_inconclusive_not_a_failed_canary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Exit 5, not 1 (the canary is worse) and not 0: no judgement was possible."""
    assert main([*args("x"), "--last", "5m", "--format", "json"]) == 5
    answer = json.loads(capsys.readouterr().out)
    assert answer["verdict"] == "inconclusive"
    assert "metrics server is unavailable" in answer["reason"]


class BackfilledPrometheus(_Process):
    """Prometheus serving a TSDB that promtool filled from OpenMetrics text."""

    name = "prometheus"

    def __init__(self, workdir: Path, openmetrics: str) -> None:
        super().__init__(workdir)
        self.port = free_port()
        source = workdir / "history.om"
        source.write_text(openmetrics)
        config = workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
        self.config = config
        subprocess.run(
            [
                "promtool",
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                str(source),
                str(workdir / "tsdb"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _argv(self) -> list[str]:
        return [
            "prometheus",
            f"--config.file={self.config}",
            f"--storage.tsdb.path={self.workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False


def history() -> str:
    """Every 15 s for an hour: canary 50 req/s, stable 450 req/s; 1 % errors everywhere,
    except the "bad" service's canary at 3 % and the "quiet" service's errors at 0."""
    rates = {  # (service, track): (requests per 15 s, errors per 15 s)
        ("good", "canary"): (750, 7.5),
        ("good", "stable"): (6750, 67.5),
        ("bad", "canary"): (750, 22.5),
        ("bad", "stable"): (6750, 67.5),
        ("quiet", "canary"): (750, 0.0),
        ("quiet", "stable"): (6750, 0.0),
    }
    lines = {"requests": ["# TYPE requests counter"], "errors": ["# TYPE errors counter"]}
    for i in range(MINUTES * 4 + 1):
        ts = (START + timedelta(seconds=15 * i)).timestamp()
        for (service, track), (requests, errors) in rates.items():
            labels = f'service="{service}",track="{track}"'
            lines["requests"].append(f"requests_total{{{labels}}} {requests * i} {ts:.0f}")
            lines["errors"].append(f"errors_total{{{labels}}} {errors * i:g} {ts:.0f}")
    return "\n".join(lines["requests"] + lines["errors"]) + "\n# EOF\n"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackfilledPrometheus]:
    server = BackfilledPrometheus(tmp_path_factory.mktemp("prometheus"), history())
    server.start()
    try:
        yield server
    finally:
        server.close()


def span(minutes_from: int, minutes_to: int) -> list[str]:
    return [
        "--start",
        (START + timedelta(minutes=minutes_from)).isoformat(),
        "--end",
        (START + timedelta(minutes=minutes_to)).isoformat(),
    ]


@pytest.mark.integration
def test_a_good_canary_passes_with_its_bounds(
    prometheus: BackfilledPrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*args("good", *span(1, 59), url=prometheus.url)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PASS at ")
    assert "canary proven within 1.5× the baseline: ratio ≥ " in out
    assert "with 99 % confidence" in out
    assert "59 windows, 59 with traffic in both" in out


@pytest.mark.integration
def test_a_worse_canary_fails(
    prometheus: BackfilledPrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*args("bad", *span(1, 59), "--format", "json", url=prometheus.url)]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer["verdict"] == "fail"
    assert answer["ratio"]["lower"] > 1
    assert answer["ratio"]["estimate"] == pytest.approx(3.0, rel=0.05)
    assert answer["data"]["canary"]["requests"] == pytest.approx(59 * 3000, rel=0.01)


@pytest.mark.integration
def test_no_data_and_no_errors_are_inconclusive(
    prometheus: BackfilledPrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    before = [
        "--start",
        (START - timedelta(hours=3)).isoformat(),
        "--end",
        (START - timedelta(hours=2)).isoformat(),
    ]
    assert main([*args("good", *before, "--format", "json", url=prometheus.url)]) == 5
    answer = json.loads(capsys.readouterr().out)
    assert answer["verdict"] == "inconclusive"
    assert answer["data"]["windows"] == 0
    assert main([*args("quiet", *span(1, 59), url=prometheus.url)]) == 5
    assert "INCONCLUSIVE: too little data: no errors in either arm" in capsys.readouterr().out


def test_the_argo_job_example_runs_a_valid_gate_judge() -> None:
    """examples/argo-rollouts/analysis-template.yaml: the Job's arguments are options gate
    judge accepts, its queries pass the window check, and only exit 0 can be Successful
    (argoproj/argo-rollouts metricproviders/job/job.go: JobComplete → Successful, JobFailed →
    Failed)."""
    import yaml

    from gate.cli.judge import EXIT_FOR
    from gate.cli.judge import judge as command
    from gate.judge.history import check_windows

    root = Path(__file__).resolve().parents[2]
    doc = yaml.safe_load((root / "examples/argo-rollouts/analysis-template.yaml").read_text())
    [metric] = doc["spec"]["metrics"]
    job = metric["provider"]["job"]["spec"]
    [container] = job["template"]["spec"]["containers"]
    argv = [a.replace("{{args.service}}", "checkout") for a in container["args"]]
    assert argv[0] == "judge"
    ctx = command.make_context("judge", argv[1:])
    params = ctx.params
    assert params["wait"] == "20m"
    assert params["max_ratio"] == 1.5
    keys = ("canary_errors", "canary_requests", "baseline_errors", "baseline_requests")
    check_windows({k: params[k] for k in keys}, 60)
    assert job["backoffLimit"] == 0  # a failed judgement is not retried into a new test
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    assert job["activeDeadlineSeconds"] > 20 * 60  # the Job is not killed while it waits
    assert EXIT_FOR == {"pass": 0, "fail": 1, "inconclusive": 5}  # only a pass completes


def test_mann_whitney_takes_two_series_and_no_count_queries(
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = ["judge", "--url", "http://127.0.0.1:9", "--last", "10m", "--method", "mann-whitney"]
    assert main([*base, "--canary", "a"]) == 2
    assert "--baseline: --baseline is required with --method mann-whitney" in (
        capsys.readouterr().err
    )
    assert main([*base, "--canary", "a", "--baseline", "b", "--canary-errors", "c"]) == 2
    assert "--canary-errors: not an option of --method mann-whitney" in capsys.readouterr().err
    assert main([*base, "--canary", "a", "--baseline", "b", "--wait", "5m"]) == 2
    assert "fixed-horizon" in capsys.readouterr().err
    assert main([*args("x"), "--last", "5m", "--canary", "a"]) == 2
    assert "--canary: not an option of --method sequential" in capsys.readouterr().err


@pytest.mark.integration
def test_mann_whitney_judges_any_metric_kayentas_way(
    prometheus: BackfilledPrometheus, capsys: pytest.CaptureFixture[str]
) -> None:
    """Error rates as a plain metric: 3 % against 1 % is High (fail), 1 % against 1 % Pass."""

    def error_rate(service: str, track: str) -> str:
        where = f'service="{service}",track="{track}"'
        return f"sum(rate(errors_total{{{where}}}[1m])) / sum(rate(requests_total{{{where}}}[1m]))"

    def run(service: str, *extra: str) -> int:
        return main(
            [
                *("judge", "--url", prometheus.url, "--method", "mann-whitney", "--step", "1m"),
                *span(5, 55),
                *("--canary", error_rate(service, "canary")),
                *("--baseline", error_rate(service, "stable")),
                *extra,
            ]
        )

    assert run("bad", "--format", "json") == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer["classification"] == "High"
    assert answer["shift"]["estimate"] == pytest.approx(0.02, rel=0.01)
    assert answer["data"]["canary"]["points"] == 51
    assert run("good") == 0
    assert capsys.readouterr().out.startswith("PASS: ")
