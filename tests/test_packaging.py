"""The container and the GitHub Action: linted, and their entry behaviour checked without Docker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from dockerfile_parse import DockerfileParser

REPO = Path(__file__).resolve().parents[1]


def dockerfile() -> DockerfileParser:
    parser = DockerfileParser(path=str(REPO / "Dockerfile"))
    return parser


def action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "action.yml").read_text())
    return data


def test_dockerfile_final_stage_is_slim_non_root_with_gate_entrypoint() -> None:
    d = dockerfile()
    stages = [i for i in d.structure if i["instruction"] == "FROM"]
    assert stages
    assert all("slim" in s["value"] for s in stages)
    final = [i for i in d.structure if i["startline"] > stages[-1]["startline"]]
    users = [i["value"] for i in final if i["instruction"] == "USER"]
    assert users
    assert users[-1] not in ("root", "0")
    [entry] = [i["value"] for i in final if i["instruction"] == "ENTRYPOINT"]
    assert entry == '["gate"]'


def test_dockerfile_installs_runtime_dependencies_only() -> None:
    text = (REPO / "Dockerfile").read_text()
    for forbidden in ("[test]", "[dev]", "pytest", "ADD http", "curl ", "wget "):
        assert forbidden not in text
    runs = [i["value"] for i in dockerfile().structure if i["instruction"] == "RUN"]
    assert any(
        "--no-cache-dir" in r or "PIP_NO_CACHE_DIR" in (REPO / "Dockerfile").read_text()
        for r in runs
    )
    copies = [i["value"] for i in dockerfile().structure if i["instruction"] == "COPY"]
    assert "policies ./policies" in copies  # the bundled policies are in the image


def test_action_is_a_docker_action_mapping_every_input() -> None:
    a = action()
    assert a["runs"]["using"] == "docker"
    assert a["runs"]["image"] == "Dockerfile"
    assert set(a["inputs"]) == {"change-request", "policy", "environment", "format", "fail-on"}
    env = a["runs"]["env"]
    for name in a["inputs"]:
        assert f"${{{{ inputs.{name} }}}}" in env.values(), name
    assert set(a["outputs"]) == {"decision", "risk-score", "next-allowed-at"}


def test_entrypoint_behaviour_with_the_action_environment(tmp_path: Path) -> None:
    """What the container runs: `gate` + the action's args, with the action's env mapping."""
    a = action()
    inputs = {
        "change-request": "examples/change-warn.yaml",
        "policy": "",
        "environment": "",
        "format": "text",
        "fail-on": "warn",
    }
    env = {
        k: v.replace(f"${{{{ inputs.{n} }}}}", inputs[n])
        for k, v in a["runs"]["env"].items()
        for n in inputs
        if f"inputs.{n} " in v
    }
    outputs = tmp_path / "outputs"
    full_env = {**os.environ, **env, "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs)}
    proc = subprocess.run(
        [sys.executable, "-m", "gate", *a["runs"]["args"], "--now=2026-11-22T12:00:00Z"],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr  # warn with fail-on warn
    assert "::warning file=examples/change-warn.yaml" in proc.stderr
    assert outputs.read_text().startswith("decision=warn\nrisk-score=65\n")


def test_example_workflow_uses_the_action_inputs() -> None:
    wf = yaml.safe_load((REPO / "examples/workflows/gate.yml").read_text())
    [step] = [s for s in wf["jobs"]["gate"]["steps"] if s.get("id") == "gate"]
    assert set(step["with"]) <= set(action()["inputs"])
