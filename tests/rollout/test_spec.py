"""Rollout specs: the issue's example as written, templates, and errors with file:line:field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gate.config.loader import load_file, load_text
from gate.errors import ConfigError, ConfigErrors
from gate.rollout.spec import parse_rollout
from gate.rollout.templates import escape_promql, render, values_for
from tests.cli.conftest import REPO, Result


def test_the_issue_example_is_accepted_as_written() -> None:
    s = parse_rollout(load_file(REPO / "examples/rollout.yaml"))
    assert [st.weight for st in s.stages] == [1, 5, 25, 100]
    assert [st.duration for st in s.stages] == [300.0, 600.0, 900.0, None]
    assert s.stages[0].error_threshold == 0.1
    assert s.analysis.interval == 30.0
    assert (
        s.analysis.failure_limit,
        s.analysis.inconclusive_limit,
        s.analysis.consecutive_error_limit,
    ) == (0, 0, 4)
    by_name = {m.name: m for m in s.analysis.metrics}
    assert by_name["error-rate"].error_metric
    assert not by_name["p95-latency"].error_metric
    assert by_name["errors-vs-baseline"].max_ratio == 2.0
    assert s.traffic.settings.socket == "/run/haproxy/admin.sock"


def test_templates_escape_values_and_cannot_run_code() -> None:
    values = values_for('web"} or vector(1) #', "n", 30, {"team": "a\\b"})
    text = render('x{service="{{ service }}", team="{{ args.team }}"}[{{ interval }}]', values)
    assert text == 'x{service="web\\"} or vector(1) #", team="a\\\\b"}[30s]'
    assert escape_promql("a\nb") == "a\\nb"
    # a placeholder is a name, never an expression
    assert render("{{ __import__('os') }}", values) == "{{ __import__('os') }}"


def rollout_text(
    metric_query: str = "q", stages: str = "[{weight: 10, duration: 1m}, {weight: 100}]"
) -> str:
    return f"""apiVersion: gate/v1
kind: Rollout
metadata: {{name: web}}
spec:
  traffic: {{provider: dryrun}}
  metrics: {{provider: prometheus, url: "http://127.0.0.1:9090"}}
  stages: {stages}
  analysis:
    metrics:
      - name: error-rate
        query: '{metric_query}'
        max: 0.05
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            rollout_text('x{s="{{ servce }}"}'),
            "rollout.yaml:11: spec.analysis.metrics[0].query: unknown template variable 'servce'",
        ),
        (
            rollout_text(stages="[{weight: 10, duration: 1m}, {weight: 50}]"),
            "rollout.yaml:7: spec.stages[1].weight: the last stage must be weight 100",
        ),
        (
            rollout_text(stages="[{weight: 50, duration: 1m}, {weight: 10}, {weight: 100}]"),
            "rollout.yaml:7: spec.stages[1].weight: weights must not go down",
        ),
        (
            rollout_text(stages="[{weight: 10, duration: 5 minutes}, {weight: 100}]"),
            "rollout.yaml:7: spec.stages[0].duration: expected a duration such as 30s",
        ),
        (
            rollout_text().replace("provider: dryrun", "provider: nginx"),
            "rollout.yaml:5: spec.traffic.provider: 'nginx' is not one of",
        ),
        (
            rollout_text().replace("max: 0.05", "maks: 0.05"),
            "rollout.yaml:12: spec.analysis.metrics[0].maks: unknown key 'maks'; "
            "did you mean 'max'?",
        ),
    ],
)
def test_spec_errors_name_file_line_and_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_rollout(load_text(text, "rollout.yaml"))
    err = info.value
    first = err.errors[0] if isinstance(err, ConfigErrors) else err
    assert first.one_line().startswith(message)


def test_validate_accepts_rollout_specs(gate: Callable[..., Result]) -> None:
    r = gate("validate", "examples/rollout.yaml")
    assert (r.code, r.out) == (0, "examples/rollout.yaml: ok (rollout)\n")


def test_rollout_with_an_unreachable_prometheus_is_exit_2_nothing_changed(
    gate: Callable[..., Result], tmp_path: Path
) -> None:
    spec = tmp_path / "r.yaml"
    spec.write_text(rollout_text().replace("9090", "9"))
    r = gate("rollout", str(spec), "--state-dir", str(tmp_path / "s"))
    assert r.code == 2
    assert r.err.startswith("gate: error: prometheus: ")
    s = gate("status", "web", "--state-dir", str(tmp_path / "s"), "--format", "json")
    assert '"status": "failed-to-start"' in s.out
