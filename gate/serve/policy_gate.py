"""``POST /v1/check``: a change request judged against the server's policies.

The answer is exactly what ``gate check --format json`` prints for the same change request
(the change's file is ``<request>``), built by the same renderer. Live checks in the policies
run as in ``gate check``: concurrently, each within its timeout, failing closed.

HTTP status (the decision is also in the body and in the ``Gate-Decision`` header):

=====  ==============================================================================
200    allow or warn (with ``?failOn=warn``, only allow)
403    block (or warn with ``?failOn=warn``): the policy refuses the change
400    the body is not JSON/YAML text; 422 it is, but not a valid change request
=====  ==============================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from gate.config.loader import Document
from gate.errors import ConfigError
from gate.policy.result import Decision, Evaluation
from gate.report import RenderOptions
from gate.serve.body import invalid, sub_document
from gate.serve.service import Service

WRAPPER_KEYS = ("change", "environment")


@dataclass(frozen=True)
class CheckAnswer:
    status: int
    evaluation: Evaluation

    @property
    def decision(self) -> str:
        return self.evaluation.decision.value

    def json(self) -> str:
        """The text ``gate check --format json`` prints."""
        from gate.report import render

        return render(self.evaluation, "json")


def split_request(doc: Document) -> tuple[Document, str]:
    """A bare change request, or ``{"change": {...}, "environment": "production"}``."""
    data = doc.data
    if not (isinstance(data, dict) and "change" in data):
        return doc, ""
    for key in data:
        if key not in WRAPPER_KEYS:
            raise doc.error(
                (key,), f"unknown key {key!r}; a wrapped request has: {', '.join(WRAPPER_KEYS)}"
            )
    environment = data.get("environment", "")
    if not isinstance(environment, str):
        raise doc.error(("environment",), "expected a string")
    if not isinstance(data["change"], dict):
        raise doc.error(("change",), "expected a mapping (the change-request fields)")
    return sub_document(doc, "change"), environment


def check(
    service: Service, doc: Document, *, fail_on: str = "block", environment: str | None = None
) -> CheckAnswer:
    """Evaluate the change request in ``doc`` (in ``environment`` when given, else the one the
    request names); bad input raises RequestProblem (422)."""
    from gate.change import parse_change
    from gate.checks.runner import run_checks
    from gate.policy.engine import evaluate

    try:
        change_doc, named = split_request(doc)
        change = parse_change(change_doc)
    except ConfigError as exc:
        raise invalid(exc) from None
    evaluation = evaluate(
        change,
        service.policies,
        environment=named if environment is None else environment,
        live_checks_runner=run_checks,
    )
    fails = RenderOptions(fail_on=Decision(fail_on)).fails(evaluation.decision)
    return CheckAnswer(403 if fails else 200, evaluation)
