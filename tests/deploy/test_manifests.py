"""Every Kubernetes manifest in deploy/ and examples/ validates against its real schema: the
Kubernetes API's (Deployment, Service, Secret, ConfigMap) and the Argo Rollouts and Flagger
CRDs, kept in tests/deploy/schemas/ with their source and commit (SOURCES.md there). And what
gate reads out of them (policies, change requests, judge settings, kill switches) is valid for
gate too.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft4Validator

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).resolve().parent / "schemas"
KUBERNETES = {
    ("apps/v1", "Deployment"): "deployment-apps-v1.json",
    ("v1", "Service"): "service-v1.json",
    ("v1", "Secret"): "secret-v1.json",
    ("v1", "ConfigMap"): "configmap-v1.json",
}
CRDS = {
    "argoproj.io": "analysis-template-crd.yaml",
    "flagger.app": "flagger-crd.yaml",
}


def manifests() -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(file, index, document) for every YAML document with apiVersion and kind that is not
    gate's own (gate/v1 files are checked by gate validate's tests)."""
    for top in ("deploy", "examples"):
        for path in sorted((REPO / top).rglob("*.y*ml")):
            for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
                if (
                    isinstance(doc, dict)
                    and "apiVersion" in doc
                    and "kind" in doc
                    and not str(doc["apiVersion"]).startswith("gate/")
                ):
                    yield str(path.relative_to(REPO)), i, doc


MANIFESTS = list(manifests())


def _strict(node: Any) -> Any:
    """An OpenAPI v3 schema from a CRD as a JSON Schema with the API server's strictness:
    unknown keys are refused unless the CRD preserves them; ``nullable`` admits null."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if out.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-int-or-string") and "type" not in out and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    return out


@cache
def crd_schema(api_version: str, kind: str) -> dict[str, Any]:
    group, _, version = api_version.partition("/")
    for crd in yaml.safe_load_all((SCHEMAS / CRDS[group]).read_text()):
        if crd and crd["spec"]["names"]["kind"] == kind and crd["spec"]["group"] == group:
            for v in crd["spec"]["versions"]:
                if v["name"] == version and v.get("served"):
                    schema: dict[str, Any] = _strict(v["schema"]["openAPIV3Schema"])
                    return schema
    raise KeyError(f"no served {api_version} {kind} in {CRDS[group]}")


@cache
def kubernetes_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return schema


def schema_for(doc: dict[str, Any]) -> dict[str, Any]:
    key = (doc["apiVersion"], doc["kind"])
    if key in KUBERNETES:
        return kubernetes_schema(KUBERNETES[key])
    return crd_schema(*key)


def problems(doc: dict[str, Any]) -> list[str]:
    validator = Draft4Validator(schema_for(doc))
    return [
        f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(doc)
    ]


def test_the_schemas_are_the_ones_fetched() -> None:
    rows = re.findall(
        r"^\| `([^`]+)` \|.*\| ([0-9a-f]{64}) \|$", (SCHEMAS / "SOURCES.md").read_text(), re.M
    )
    assert {name for name, _ in rows} == {p.name for p in SCHEMAS.iterdir() if p.suffix != ".md"}
    for name, digest in rows:
        assert hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest() == digest, name


def test_the_manifests_we_ship_are_all_found() -> None:
    kinds = {(f.split("/")[0], d["kind"]) for f, _, d in MANIFESTS}
    assert kinds >= {
        ("deploy", "Deployment"),
        ("deploy", "Service"),
        ("deploy", "Secret"),
        ("deploy", "ConfigMap"),
        ("examples", "AnalysisTemplate"),
        ("examples", "Canary"),
        ("examples", "MetricTemplate"),
    }


@pytest.mark.parametrize(
    ("file", "index", "doc"), MANIFESTS, ids=[f"{f}#{i}" for f, i, _ in MANIFESTS]
)
def test_manifest_validates_against_its_schema(file: str, index: int, doc: dict[str, Any]) -> None:
    assert problems(doc) == []


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("Deployment", ("spec", "replicass"), 2),
        ("Deployment", ("spec", "template", "spec", "containers", 0, "imagePullPolicy"), 3),
        (
            "Deployment",
            ("spec", "template", "spec", "containers", 0, "securityContext", "readOnly"),
            True,
        ),
        ("Service", ("spec", "ports", 0, "port"), "eighty"),
        ("Secret", ("stringData", "token"), 42),
        ("ConfigMap", ("metadata", "labelz"), {}),
        ("AnalysisTemplate", ("spec", "metrics", 0, "provider", "web", "methd"), "POST"),
        ("AnalysisTemplate", ("spec", "metrics", 0, "successCondition"), 5),
        ("Canary", ("spec", "analysis", "webhooks", 0, "type"), "pre-promotion"),
        ("Canary", ("spec", "analysis", "webhooks", 0, "headers"), {"Authorization": "x"}),
        ("Canary", ("spec", "analysis", "webhooks", 0, "metadata", "alpha"), 0.01),
        ("MetricTemplate", ("spec", "provider", "type"), 7),
    ],
)
def test_the_schemas_catch_a_broken_manifest(kind: str, path: tuple[Any, ...], value: Any) -> None:
    """The validation is not a formality: one wrong key or type in a shipped manifest fails."""
    [(_, _, doc)] = [
        m
        for m in MANIFESTS
        if m[2]["kind"] == kind
        and m[0].startswith(
            ("deploy", "examples/flagger", "examples/argo-rollouts/analysis-template-web")
        )
    ][:1]
    broken = copy.deepcopy(doc)
    node: Any = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert problems(broken) != []


def _one(kind: str, file_part: str) -> dict[str, Any]:
    [doc] = [d for f, _, d in MANIFESTS if d["kind"] == kind and file_part in f]
    return doc


def test_the_deployment_runs_gate_serve_safely() -> None:
    d = _one("Deployment", "deploy/kubernetes")
    pod = d["spec"]["template"]["spec"]
    [c] = pod["containers"]
    assert c["args"][0] == "serve"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"]["path"] == "/healthz"
    assert c["resources"]["requests"]
    assert c["resources"]["limits"]["memory"]
    [token] = [e for e in c["env"] if e["name"] == "GATE_SERVE_TOKEN"]
    assert token["valueFrom"]["secretKeyRef"] == {"name": "gate-serve", "key": "token"}
    timeout = next(float(a.split("=")[1]) for a in c["args"] if a.startswith("--timeout="))
    assert pod["terminationGracePeriodSeconds"] > timeout
    service = _one("Service", "deploy/kubernetes")
    assert service["spec"]["selector"] == d["spec"]["selector"]["matchLabels"]


def test_the_configmap_holds_valid_gate_policies() -> None:
    from gate.config.loader import load_text
    from gate.policy.load import parse_policy

    cm = _one("ConfigMap", "deploy/kubernetes")
    for name, text in cm["data"].items():
        assert parse_policy(load_text(text, name)).name


def test_the_argo_web_metric_asks_gate_for_a_valid_judgement() -> None:
    from gate.config.loader import Document
    from gate.serve.judging import parse_judge_request
    from gate.serve.service import Service
    from gate.serve.settings import ServeSettings

    t = _one("AnalysisTemplate", "analysis-template-web")
    [metric] = t["spec"]["metrics"]
    web = metric["provider"]["web"]
    assert (web["method"], web["url"].rsplit("/", 2)[-2:]) == ("POST", ["v1", "judge"])
    assert metric["successCondition"] == 'result.verdict == "pass"'
    assert metric["failureCondition"] == 'result.verdict == "fail"'
    body = json.loads(json.dumps(web["jsonBody"]).replace("{{ args.service }}", "checkout"))
    service = Service(ServeSettings(prometheus="http://prometheus.monitoring:9090"), [])
    request = parse_judge_request(Document("jsonBody", body), service)
    assert (request.last, request.step, request.alpha) == (1800.0, 60.0, 0.01)


def test_the_flagger_canary_carries_what_gate_s_hooks_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from gate.change import parse_change
    from gate.config.loader import Document, load_file, load_text
    from gate.serve.flagger import HOOKS
    from gate.serve.judging import parse_judge_request
    from gate.serve.killswitches import parse_kill_switches
    from gate.serve.service import Service
    from gate.serve.settings import ServeSettings

    canary = _one("Canary", "examples/flagger")
    hooks = canary["spec"]["analysis"]["webhooks"]
    assert {h["type"] for h in hooks} == set(HOOKS) - {"pre-rollout"}  # its gate: confirm-rollout
    service = Service(ServeSettings(prometheus="http://prometheus.monitoring:9090"), [])
    for hook in hooks:
        assert hook["url"].endswith(f"/v1/flagger/{hook['type']}")
        assert hook["metadata"]["token"]
        if hook["type"] in ("confirm-rollout", "pre-rollout"):
            assert parse_change(load_text(hook["metadata"]["change"], "change")).id
        if hook["type"] in ("rollout", "confirm-traffic-increase", "confirm-promotion", "rollback"):
            doc = Document("payload", {"metadata": hook["metadata"]})
            parse_judge_request(doc, service, base=("metadata",), from_metadata=True)
    monkeypatch.setenv("UNLEASH_TOKEN", "example-token")
    config = parse_kill_switches(load_file(REPO / "examples/flagger/kill-switches.yaml"))
    assert config.flags_for(canary["metadata"]["namespace"], canary["metadata"]["name"])


def test_gate_serve_loads_the_configmap_as_kubernetes_mounts_it(tmp_path: Path) -> None:
    """The kubelet mounts a ConfigMap as a directory of symlinks into a timestamped folder
    (``key -> ..data/key``, ``..data -> ..2026_…``); --policy on that directory reads each key."""
    from gate.serve.service import load_server_policies
    from gate.serve.settings import ServeSettings

    cm = _one("ConfigMap", "deploy/kubernetes")
    mount = tmp_path / "policies"
    stamped = mount / "..2026_12_01_10_00_00.000000001"
    stamped.mkdir(parents=True)
    (mount / "..data").symlink_to(stamped.name)
    for key, text in cm["data"].items():
        (stamped / key).write_text(text)
        (mount / key).symlink_to(f"..data/{key}")
    policies = load_server_policies(ServeSettings(policies=(str(mount),)))
    assert [p.name for p in policies] == ["default", *(k.removesuffix(".yaml") for k in cm["data"])]
