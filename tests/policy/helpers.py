"""Build change requests and policies for tests through the public loaders."""

from __future__ import annotations

from typing import Any

import yaml

from gate.change import ChangeRequest, parse_change
from gate.config.loader import load_text
from gate.policy.engine import evaluate
from gate.policy.load import load_policies, parse_policy
from gate.policy.model import Policy
from gate.policy.result import Evaluation

GOOD_CHANGE: dict[str, Any] = {
    "id": "CHG-1",
    "title": "t",
    "type": "normal",
    "riskLevel": "low",
    "affectedServices": ["search"],
    "implementationPlan": "deploy",
    "rollbackPlan": "x" * 50,
    "testingEvidence": "run 1",
    "approvers": ["a"],
    "author": "z",
    "scheduledTime": "2026-11-24T10:00:00+00:00",
    "maintenanceWindow": False,
}


def change(**overrides: Any) -> ChangeRequest:
    data = {**GOOD_CHANGE, **overrides}
    data = {k: v for k, v in data.items() if v is not None}
    return parse_change(load_text(yaml.safe_dump(data, sort_keys=False), "change.yaml"))


def policy(spec: dict[str, Any], name: str = "test") -> Policy:
    data = {"apiVersion": "gate/v1", "kind": "Policy", "metadata": {"name": name}, "spec": spec}
    return parse_policy(load_text(yaml.safe_dump(data, sort_keys=False), f"{name}.yaml"))


def default_eval(
    c: ChangeRequest, *extra: Policy, env: str = "production", override: str | None = None
) -> Evaluation:
    return evaluate(
        c,
        [*load_policies([]), *extra],
        environment=env,
        override=override,
        now=c.scheduled_time,  # judged at its scheduled time (a later now judges that too)
    )


def evaluate_only(c: ChangeRequest, *policies: Policy, override: str | None = None) -> Evaluation:
    """Evaluate with the given policies and not the bundled default."""
    return evaluate(
        c,
        list(policies),
        environment="production",
        override=override,
        now=c.scheduled_time,  # judged at its scheduled time (a later now judges that too)
    )
