"""gate's output under GitHub Actions, held against the runner's workflow-command and
file-command rules.

Sources:

- GitHub, "Workflow commands for GitHub Actions" (docs.github.com; github/docs
  ``content/actions/reference/workflows-and-actions/workflow-commands.md``): the
  ``::command key=value,…::message`` form, ``add-mask``, ``GITHUB_OUTPUT`` with ``name=value``
  and ``name<<delimiter`` lines ("make sure the delimiter … won't occur on a line of its
  own within the value"), UTF-8 environment files, step summaries of at most 1 MiB.
- actions/runner at 258d6c857db3519913f7deb6004b60172f8043ae: ``src/Runner.Common/
  ActionCommand.cs`` (a command is a line that, after leading whitespace, starts with ``::``;
  properties split on ``,`` then on the first ``=``; unescaping of data ``%0D %0A %25`` and of
  properties ``%0D %0A %3A %2C %25``, in that order), ``src/Runner.Worker/
  FileCommandManager.cs`` (``EnvFileKeyValuePairs``: the output-file grammar;
  ``AttachmentSizeLimit = 1024 * 1024`` for summaries), ``src/Runner.Worker/Handlers/
  ScriptHandler.cs`` and ``ContainerActionHandler.cs`` (stdout *and* stderr of a step go
  through the command manager).
- github/rest-api-description (checks runs ``output.annotations``): "GitHub Actions are
  limited to 10 warning annotations and 10 error annotations per step".

The small parsers below restate those rules; they are the test's model of the runner.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gate.policy.result import Decision, Evaluation, Finding, Severity, SourceLocation
from gate.report import actions, github
from tests.conformance.conftest import GateRunner

DATA_UNESCAPES = [("%0D", "\r"), ("%0A", "\n"), ("%25", "%")]
PROPERTY_UNESCAPES = [("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")]


@dataclass
class Command:
    name: str
    properties: dict[str, str] = field(default_factory=dict)
    data: str = ""


def _unescape(text: str, table: list[tuple[str, str]]) -> str:
    for escaped, plain in table:
        text = text.replace(escaped, plain)
    return text


def parse_command(line: str) -> Command | None:
    """A workflow command as the runner reads one line (ActionCommand.TryParseV2)."""
    message = line.lstrip()
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    name, _, props = info.partition(" ")
    command = Command(name.strip())
    for prop in props.strip().split(","):
        key, sep, value = prop.partition("=")
        if prop and sep and key and value:
            command.properties[key] = _unescape(value, PROPERTY_UNESCAPES)
    command.data = _unescape(message[end + 2 :], DATA_UNESCAPES)
    return command


def parse_output_file(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` as the runner reads it (FileCommandManager.EnvFileKeyValuePairs)."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    assert text.endswith("\n") or not text, "the last line ends with a newline"
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            name, value = line.split("=", 1)
            assert name, f"invalid format {line!r}: name must not be empty"
            out[name] = value
        elif heredoc >= 0:
            name, delimiter = line.split("<<", 1)
            assert name, f"invalid format {line!r}: name must not be empty"
            assert delimiter, f"invalid format {line!r}: delimiter must not be empty"
            value_lines = []
            while True:
                assert i < len(lines) - 1, f"matching delimiter not found {delimiter!r}"
                if lines[i] == delimiter:
                    i += 1
                    break
                value_lines.append(lines[i])
                i += 1
            out[name] = "\n".join(value_lines)
        else:
            raise AssertionError(f"invalid format {line!r}")
    return out


def commands(text: str) -> list[Command]:
    return [c for c in map(parse_command, text.splitlines()) if c is not None]


@pytest.fixture
def actions_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Path]:
    files = {"summary": tmp_path / "step_summary", "output": tmp_path / "set_output"}
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(files["summary"]))
    monkeypatch.setenv("GITHUB_OUTPUT", str(files["output"]))
    return files


# ---- the command streams ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_machine_formats_on_stdout_stay_parseable(
    gate_check: GateRunner, actions_env: dict[str, Path], fmt: str
) -> None:
    """Under ``GITHUB_ACTIONS=true`` the report on stdout is the document alone; the runner
    takes workflow commands from stderr as well (ScriptHandler / ContainerActionHandler), so
    annotations go there and still become annotations."""
    run = gate_check("--change", "examples/change-block.yaml", "--format", fmt)
    assert run.code == 1
    json.loads(run.out)
    assert commands(run.out) == []
    errors = [c for c in commands(run.err) if c.name == "error"]
    assert {c.properties["title"] for c in errors} >= {"gate: rollback-plan"}


def test_format_github_prints_each_annotation_once(
    gate_check: GateRunner, actions_env: dict[str, Path]
) -> None:
    """``--format github`` under Actions: the report *is* the annotations; they are not
    repeated on stderr."""
    run = gate_check("--change", "examples/change-block.yaml", "--format", "github")
    annotations = [
        (c.name, c.properties.get("title"))
        for c in commands(run.out + run.err)
        if c.name in {"error", "warning", "notice"}
    ]
    assert len(annotations) == len(set(annotations))
    assert sum(name == "error" for name, _ in annotations) == 3


def test_format_github_to_a_file_still_annotates_the_step(
    gate_check: GateRunner, actions_env: dict[str, Path], tmp_path: Path
) -> None:
    """With ``--output`` the annotations in the file reach no runner, so they are printed
    (on stderr) as for any other format."""
    report = tmp_path / "annotations.txt"
    run = gate_check("--change", "examples/change-block.yaml", "-f", "github", "-o", str(report))
    assert run.out == ""
    assert len([c for c in commands(run.err) if c.name == "error"]) == 3


def test_masks_go_to_stderr_before_anything_else(
    gate_check: GateRunner,
    actions_env: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """``::add-mask::`` must be registered "before outputting it in the build logs": the masks
    come first on stderr, and never on stdout."""
    policy = tmp_path / "live.yaml"
    policy.write_text(
        "apiVersion: gate/v1\nkind: Policy\nmetadata: {name: live}\nspec:\n"
        "  checks:\n    - {name: tool, type: command, argv: ['true'], timeout: 5s}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret%value")
    run = gate_check(
        "--change", "examples/change-pass.yaml", "--policy", str(policy), "--format", "json"
    )
    assert run.code == 0, run.err
    json.loads(run.out)
    first = commands(run.err)[0]
    assert (first.name, first.data) == ("add-mask", "ghs_secret%value")
    assert "ghs_secret" not in run.out


def test_escaping_round_trips_through_the_runner_parser() -> None:
    """Data escapes ``%``, CR and LF; properties also ``:`` and ``,`` — what the runner
    unescapes gives back the text exactly."""
    message = "100% sure: a, b\r\nnext line %0A literal, ::not-a-command::"
    path = "dir, x/c:1%.yaml"
    evaluation = Evaluation(
        decision=Decision.WARN,
        risk_score=0,
        findings=(
            Finding(
                "odd,rule:1", Severity.WARN, message, location=SourceLocation(path, 3), policy="p"
            ),
        ),
        change_file=path,
    )
    lines = github.annotation_lines(evaluation)
    assert all("\n" not in line and "\r" not in line for line in lines)
    parsed = parse_command(lines[0])
    assert parsed is not None
    assert parsed.name == "warning"
    assert parsed.properties == {"file": path, "line": "3", "title": "gate: odd,rule:1"}
    assert parsed.data == message
    mask = parse_command(actions.mask("a%0Ab\nc"))
    assert mask is not None
    assert mask.data == "a%0Ab\nc"


def test_at_most_ten_errors_and_ten_warnings_per_step() -> None:
    """ "GitHub Actions are limited to 10 warning annotations and 10 error annotations per
    step": gate prints ten of each and says how many more there are."""
    findings = tuple(
        Finding(f"r{i}", severity, "m", location=SourceLocation("c.yaml", i))
        for i in range(1, 16)
        for severity in (Severity.BLOCK, Severity.WARN)
    )
    evaluation = Evaluation(Decision.BLOCK, 0, findings, change_file="c.yaml")
    parsed = [parse_command(line) for line in github.annotation_lines(evaluation)]
    names = [c.name for c in parsed if c is not None]
    assert names.count("error") == 10
    assert names.count("warning") == 10
    assert any("5 more errors and 5 more warnings" in c.data for c in parsed if c is not None)


# ---- file commands ---------------------------------------------------------------------


def test_outputs_parse_as_the_runner_reads_them(
    gate_check: GateRunner, actions_env: dict[str, Path]
) -> None:
    """``GITHUB_OUTPUT``: ``{name}={value}`` lines, appended, UTF-8."""
    actions_env["output"].write_text("earlier=kept\n", encoding="utf-8")
    run = gate_check("--change", "examples/change-warn.yaml")
    assert run.code == 0
    outputs = parse_output_file(actions_env["output"].read_bytes().decode("utf-8"))
    assert outputs == {
        "earlier": "kept",
        "decision": "warn",
        "risk-score": "65",
        "next-allowed-at": "",
    }


def test_multiline_values_use_a_delimiter_not_in_the_value() -> None:
    """``{name}<<{delimiter}``: "make sure the delimiter you're using won't occur on a line of
    its own within the value" — gate's delimiter is random per value."""
    value = "line one\nEOF\ngate_\nlast"
    text = actions.output_lines({"multi": value, "plain": "x=y"})
    assert parse_output_file(text) == {"multi": value, "plain": "x=y"}
    delimiter = text.split("\n", 1)[0].split("<<", 1)[1]
    assert delimiter not in value.split("\n")


def test_step_summary_stays_under_one_mebibyte(tmp_path: Path) -> None:
    """Summaries: "each step is restricted to a maximum size of 1MiB" (runner:
    ``AttachmentSizeLimit = 1024 * 1024``); a bigger one fails to upload. gate truncates and
    says so."""
    findings = tuple(
        Finding(f"rule-{i}", Severity.WARN, "x" * 2000, location=SourceLocation("c.yaml", i))
        for i in range(1, 1200)
    )
    evaluation = Evaluation(Decision.WARN, 0, findings, change_file="c.yaml")
    summary = tmp_path / "summary"
    actions.publish(evaluation, {"GITHUB_STEP_SUMMARY": str(summary)})
    size = summary.stat().st_size
    assert 1024 * 1024 - 8192 < size <= 1024 * 1024
    assert "summary truncated" in summary.read_text(encoding="utf-8")
