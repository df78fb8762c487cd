"""``POST /v1/flagger/{hook}``: Flagger's webhooks, answered with gate's policy gate, judge and
kill switches.

Flagger POSTs ``{"name", "namespace", "phase", "checksum", "metadata": {str: str}}``
(``CanaryWebhookPayload`` in fluxcd/flagger ``pkg/apis/flagger/v1beta1/canary.go``) and reads
only the status: 200–202 is yes, anything else (or a timeout) is no. What "yes" means differs
per hook (``docs/gitbook/usage/webhooks.md``), and so does gate's answer:

=========================  ===============================================================
hook                       gate answers 200 when ...            otherwise (non-2xx)
=========================  ===============================================================
confirm-rollout            the change request in ``metadata.change`` is allowed (or only
                           warned) by the server's policies; 403 holds the canary (Waiting)
                           and Flagger asks again each interval, so a freeze window holds it
                           until it ends
pre-rollout                same gate; 403 counts a failed check (rollback at the threshold)
rollout                    the judge has no evidence of harm (pass or inconclusive);
                           403 when it fails the canary: a failed check
confirm-traffic-increase   the judge has proof: ``pass``, the canary proven within
                           ``maxRatio`` × the baseline's error rate (:func:`proven`); 403 holds
                           the weight while it is inconclusive or failed
confirm-promotion          the judge has proof (the same ``pass``); 403 holds the promotion
rollback                   gate wants Flagger to roll back: a rollback was requested for this
                           canary (shared state) or the judge fails it; 403 means "do not
                           roll back" (the normal answer)
post-rollout, event        always, after turning the canary's kill switches off when its phase
                           is ``Failed``; 502 if a flag could not be turned off (Flagger only
                           logs it, gate's log says which)
=========================  ===============================================================

Bad metadata is 400/422 and Prometheus trouble 502: for the gates that is "no", so they fail
closed; for ``rollback`` it is "do not roll back" (gate has no evidence of harm), while
Flagger's own checks keep counting.

The judge hooks take the ``/v1/judge`` keys from ``metadata`` (``canaryErrors``, ...,
``last``, ``step``, ``alpha``, ``prometheus``); the policy hooks take ``change`` (the change
request as JSON or YAML text) and ``environment``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gate.config.loader import Document
from gate.errors import ConfigError
from gate.serve import judging, policy_gate
from gate.serve.body import RequestProblem, invalid, parse_body
from gate.serve.killswitches import turn_off
from gate.serve.service import Service

HOOKS = (
    "confirm-rollout",
    "pre-rollout",
    "rollout",
    "confirm-traffic-increase",
    "confirm-promotion",
    "post-rollout",
    "rollback",
    "event",
)
FAILED = "Failed"
YES, NO = 200, 403


@dataclass(frozen=True)
class Payload:
    name: str
    namespace: str
    phase: str
    checksum: str
    metadata: Mapping[str, str]

    @property
    def canary(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Outcome:
    status: int
    answer: str  # proceed | hold | rollback | no-rollback | done
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HookAnswer:
    hook: str
    payload: Payload
    outcome: Outcome

    @property
    def status(self) -> int:
        return self.outcome.status

    def as_dict(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "canary": self.payload.canary,
            "phase": self.payload.phase,
            "answer": self.outcome.answer,
            "reason": self.outcome.reason,
            **self.outcome.details,
        }


def parse_payload(doc: Document) -> Payload:
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error((), "expected Flagger's webhook payload (a mapping)")
    for key in ("name", "namespace"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise doc.error((key,), "required: a non-empty string")
    for key in ("phase", "checksum"):
        if not isinstance(data.get(key, ""), str):
            raise doc.error((key,), "expected a string")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise doc.error(("metadata",), "expected a mapping of strings")
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise doc.error(("metadata", key), "expected a string (Flagger metadata is strings)")
    return Payload(
        data["name"], data["namespace"], data.get("phase", ""), data.get("checksum", ""), metadata
    )


def answer(service: Service, hook: str, doc: Document, now: datetime | None = None) -> HookAnswer:
    """gate's answer to Flagger's ``hook`` for the payload in ``doc``."""
    if hook not in HOOKS:
        raise RequestProblem(404, [f"unknown Flagger hook {hook!r}; one of: {', '.join(HOOKS)}"])
    try:
        payload = parse_payload(doc)
    except ConfigError as exc:
        raise invalid(exc) from None
    return HookAnswer(hook, payload, _answer(service, hook, doc, payload, now))


def _answer(
    service: Service, hook: str, doc: Document, payload: Payload, now: datetime | None
) -> Outcome:
    if hook in ("confirm-rollout", "pre-rollout"):
        return _policy_gate(service, doc, payload)
    if hook in ("post-rollout", "event"):
        return _kill_switches(service, payload)
    if hook == "rollback":
        requested = service.rollback_requests.requested(payload.namespace, payload.name)
        if requested is not None:
            return Outcome(YES, "rollback", f"rollback requested: {requested}")
        if not any(k in payload.metadata for k in judging.QUERIES):
            return Outcome(NO, "no-rollback", "no rollback requested")
    judged = _judge(service, doc, now)
    details = {"judge": judged.as_dict()}
    failed = judged.verdict == "fail"
    if hook == "rollback":
        if failed:
            return Outcome(YES, "rollback", _judge_reason(judged), details)
        return Outcome(NO, "no-rollback", _judge_reason(judged), details)
    if hook == "rollout":
        if failed:
            return Outcome(NO, "hold", _judge_reason(judged), details)
        return Outcome(YES, "proceed", _judge_reason(judged), details)
    ok, why = proven(judged)
    return Outcome(YES if ok else NO, "proceed" if ok else "hold", why, details)


def proven(verdict: judging.JudgeAnswer) -> tuple[bool, str]:
    """Whether the judge has proof enough to let the canary take more traffic or be promoted:
    a ``pass``, i.e. the upper confidence bound of the canary/baseline error-rate ratio is at
    most ``maxRatio``. Inconclusive (no or too little data) holds, as does fail."""
    if verdict.verdict == "pass":
        return True, _judge_reason(verdict)
    return False, f"holding: {_judge_reason(verdict)}"


def _judge_reason(verdict: judging.JudgeAnswer) -> str:
    return f"{verdict.verdict}: {verdict.judgement.reason}"


def _judge(service: Service, doc: Document, now: datetime | None) -> judging.JudgeAnswer:
    try:
        request = judging.parse_judge_request(doc, service, base=("metadata",), from_metadata=True)
    except ConfigError as exc:
        raise invalid(exc) from None
    return judging.judge(service, request, now)


def _policy_gate(service: Service, doc: Document, payload: Payload) -> Outcome:
    text = payload.metadata.get("change")
    if not text:
        raise invalid(
            doc.error(("metadata",), "needs 'change': the change request, as JSON or YAML text")
        )
    from gate.report.json_format import as_dict

    change = parse_body(text.encode("utf-8"), file="metadata.change")
    result = policy_gate.check(service, change, environment=payload.metadata.get("environment"))
    deciding = [f for f in result.evaluation.findings if f.severity.value == result.decision]
    summary = "; ".join(f"{f.rule}: {f.message}" for f in deciding[:5])
    reason = f"{result.decision}: {summary}" if summary else result.decision
    answer = "proceed" if result.status == YES else "hold"
    return Outcome(result.status, answer, reason, {"check": as_dict(result.evaluation)})


def _kill_switches(service: Service, payload: Payload) -> Outcome:
    if payload.phase != FAILED:
        return Outcome(YES, "done", f"nothing to do in phase {payload.phase or '(none)'}")
    flags = service.kill_switches.flags_for(payload.namespace, payload.name)
    if not flags:
        return Outcome(YES, "done", f"no kill switches configured for {payload.canary}")
    report = turn_off(service.kill_switches, payload.namespace, payload.name)
    switched = {
        "flags": [{"flag": str(o.flag), "off": o.ok, "detail": o.detail} for o in report.outcomes]
    }
    if report.failed:
        return Outcome(502, "done", "still on: " + "; ".join(report.still_wrong()), switched)
    return Outcome(YES, "done", f"turned off {len(report.outcomes)} flag(s)", switched)
