"""``--format sarif``: SARIF 2.1.0 as GitHub code scanning reads it.

What code scanning needs ("SARIF support for code scanning", docs.github.com) and where it
comes from here:

- every rule (``reportingDescriptor``) has ``id``, ``name``, ``shortDescription``,
  ``fullDescription`` and ``help`` (each non-empty, at most 1024 characters; names at most
  255) and a ``defaultConfiguration.level``;
- every result has ``message.text``, one location with a region GitHub can place
  (``startLine``, ``startColumn``, ``endLine``, ``endColumn`` over the offending line) and
  ``partialFingerprints.primaryLocationLineHash``, so an alert survives edits that move it;
- URIs are relative to the repository root and name ``%SRCROOT%`` as their base, which
  ``run.originalUriBaseIds`` defines as the absolute root. A finding in a file outside the
  repository (a bundled policy, say) is placed on the change request, its own file kept as a
  related location;
- a rule skipped by an emergency change or ``--override`` is a result with a
  ``suppressions`` entry carrying the justification: visible, never silent.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any
from urllib.parse import quote

from gate import __version__
from gate.policy.result import Bypass, Evaluation, Finding, Severity
from gate.report import RenderOptions
from gate.report.locations import SourceFiles, file_uri

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
ROOT_ID = "%SRCROOT%"
LEVEL = {Severity.BLOCK: "error", Severity.WARN: "warning", Severity.INFO: "note"}
PROBLEM_SEVERITY = {
    Severity.BLOCK: "error",
    Severity.WARN: "warning",
    Severity.INFO: "recommendation",
}
EFFECT = {
    Severity.BLOCK: "blocks the deploy",
    Severity.WARN: "warns (and blocks under --fail-on warn)",
    Severity.INFO: "is recorded for audit only",
}
TEXT_LIMIT = 1024  # shortDescription, fullDescription (GitHub's limit)
NAME_LIMIT = 255


def _clip(text: str, limit: int = TEXT_LIMIT) -> str:
    text = " ".join(text.split()) or "(no description)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _uri(relative: str) -> str:
    """A relative URI reference: percent-encoded, so ``a b:c.yaml`` cannot read as a scheme."""
    return quote(relative, safe="/")


def _descriptor(f: Finding) -> dict[str, Any]:
    policy = f.policy or "gate"
    advice = f.remediation or f.message
    short = f"{f.rule}: {advice}"
    full = f"Rule {f.rule} of the {policy} policy; a finding of it {EFFECT[f.severity]}. {advice}"
    return {
        "id": f.rule,
        "name": _clip(f.rule, NAME_LIMIT),
        "shortDescription": {"text": _clip(short)},
        "fullDescription": {"text": _clip(full)},
        "defaultConfiguration": {"level": LEVEL[f.severity]},
        "help": {
            "text": _clip(advice, 8192),
            "markdown": f"**{f.rule}** ({policy} policy): {advice}",
        },
        "properties": {
            "policy": policy,
            "tags": ["gate", "deployment", policy],
            "precision": "very-high",
            "problem.severity": PROBLEM_SEVERITY[f.severity],
        },
    }


class _Placer:
    """Physical locations and fingerprints for one run."""

    def __init__(self, evaluation: Evaluation, files: SourceFiles) -> None:
        self.evaluation = evaluation
        self.files = files
        self.seen: Counter[str] = Counter()

    def physical(self, file: str, line: int | None) -> tuple[dict[str, Any], str]:
        """A ``physicalLocation`` over the whole (trimmed) line, and that line's text."""
        relative = self.files.relative(file)
        artifact: dict[str, Any]
        if relative is not None:
            artifact = {"uri": _uri(relative), "uriBaseId": ROOT_ID}
        else:
            artifact = {"uri": self.files.absolute(file).as_uri()}
        start = line if line is not None and line >= 1 else 1
        text = self.files.line(file, start) or ""
        region = {"startLine": start, "startColumn": 1, "endLine": start, "endColumn": 2}
        if text.strip():
            indent = len(text) - len(text.lstrip())
            region["startColumn"] = _utf16_len(text[:indent]) + 1
            region["endColumn"] = _utf16_len(text.rstrip()) + 1
        return {"artifactLocation": artifact, "region": region}, text

    def locate(self, f: Finding) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
        """The primary physical location of ``f``, its line's text, its related locations."""
        if f.location is not None and self.files.relative(f.location.file) is not None:
            primary, text = self.physical(f.location.file, f.location.line)
            return primary, text, []
        primary, text = self.physical(self.evaluation.change_file, 1)
        if f.location is None:
            return primary, text, []
        elsewhere, _ = self.physical(f.location.file, f.location.line)
        related = {
            "id": 1,
            "physicalLocation": elsewhere,
            "message": {"text": f"where rule {f.rule} is defined"},
        }
        return primary, text, [related]

    def fingerprint(self, rule: str, primary: dict[str, Any], text: str) -> str:
        """``primaryLocationLineHash``: a hash of the rule, the file and the text of the line
        (not its number, so an alert follows its line when lines above it change), then
        ``:N`` for the N-th result of that rule on an identical line."""
        uri = primary["artifactLocation"]["uri"]
        key = "\0".join((rule, uri, " ".join(text.split())))
        self.seen[key] += 1
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
        return f"{digest}:{self.seen[key]}"


def _message(f: Finding) -> str:
    """The finding as sentences: GitHub shows only the first when space is short."""
    text = f.message.strip() or f"rule {f.rule}"
    if not text.endswith((".", "!", "?")):
        text += "."
    return text + (f" Fix: {f.remediation}" if f.remediation else "")


def _suppression(b: Bypass) -> dict[str, Any]:
    # an --override is recorded outside the change request; an emergency change declares
    # itself in the change request, the file being analysed
    kind = "inSource" if b.reason.startswith("emergency") else "external"
    return {"kind": kind, "status": "accepted", "justification": f"{b.reason}: {b.justification}"}


def _result(
    f: Finding, rule_index: int, placer: _Placer, bypass: Bypass | None = None
) -> dict[str, Any]:
    primary, text, related = placer.locate(f)
    fingerprint = placer.fingerprint(f.rule, primary, text)
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": LEVEL[f.severity],
        "message": {"text": _message(f)},
        "locations": [{"physicalLocation": primary}],
        "partialFingerprints": {"primaryLocationLineHash": fingerprint},
        "properties": {
            "riskPoints": f.risk_points,
            "severity": f.severity.value,
            "policy": f.policy,
            "field": f.field,
        },
    }
    if related:
        result["relatedLocations"] = related
    if bypass is not None:
        result["suppressions"] = [_suppression(bypass)]
    return result


def render(evaluation: Evaluation, options: RenderOptions | None = None) -> str:
    options = options or RenderOptions()
    e = evaluation
    files = SourceFiles(options.root, options.cwd)
    placer = _Placer(e, files)
    rules: dict[str, dict[str, Any]] = {}

    def index(f: Finding) -> int:
        if f.rule not in rules:
            rules[f.rule] = _descriptor(f)
        return list(rules).index(f.rule)

    results = [_result(f, index(f), placer) for f in e.findings]
    for b in e.bypasses:
        skipped = b.finding or Finding(
            rule=b.rule, severity=Severity.INFO, message=f"rule {b.rule} was skipped"
        )
        results.append(_result(skipped, index(skipped), placer, bypass=b))

    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "gate",
                "semanticVersion": __version__,
                "version": __version__,
                "rules": list(rules.values()),
            }
        },
        "originalUriBaseIds": {
            ROOT_ID: {
                "uri": file_uri(files.root),
                "description": {"text": "The repository root; result URIs are relative to it."},
            }
        },
        "invocations": [{"executionSuccessful": True}],
        "results": results,
        "columnKind": "utf16CodeUnits",
        "properties": {
            "decision": e.decision.value,
            "riskScore": e.risk_score,
            "failsRun": options.fails(e.decision),
            "nextAllowedAt": e.next_allowed_at.isoformat() if e.next_allowed_at else None,
            "bypasses": [
                {"rule": b.rule, "reason": b.reason, "justification": b.justification}
                for b in e.bypasses
            ],
        },
    }
    if e.environment:
        run["automationDetails"] = {"id": f"gate/{e.environment}/"}
    doc = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
