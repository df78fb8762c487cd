"""``type: vulnerabilities``: read a SARIF, pip-audit or Trivy JSON report; fail at or above a
severity."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.change import ChangeRequest
from gate.checks.interface import CheckContext, CheckOutcome
from gate.config.node import Node
from gate.errors import ProviderRejected

SEVERITIES = ("low", "medium", "high", "critical")
MAX_REPORT = 64 * 1024 * 1024


class ReportFormat(enum.StrEnum):
    AUTO = "auto"
    SARIF = "sarif"
    PIP_AUDIT = "pip-audit"
    TRIVY = "trivy"


@dataclass(frozen=True)
class Settings:
    report: str
    format: ReportFormat = ReportFormat.AUTO
    severity: str = "high"

    @classmethod
    def parse(cls, node: Node) -> Settings:
        from gate.checks.registry import settings_keys

        settings_keys(node, ("report", "format", "severity"), "vulnerabilities")
        return cls(
            report=node.text("report"),
            format=ReportFormat(node.get("format", "auto")),
            severity=node.get("severity", "high"),
        )


def _level(text: object) -> str | None:
    t = str(text).lower()
    aliases = {
        "moderate": "medium",
        "error": "high",
        "warning": "medium",
        "note": "low",
        "negligible": "low",
        "unknown": None,
    }
    if t in SEVERITIES:
        return t
    return aliases.get(t)


NOT_FINDINGS = ("pass", "notApplicable", "informational")  # SARIF result kinds


def _sarif(data: dict[str, Any]) -> list[str]:
    """Levels of a SARIF log's results. A run whose ``results`` is absent or null, or whose
    invocation says the tool did not succeed, did not scan: that is no clean report (SARIF
    2.1.0, run.results and invocation.toolExecutionSuccessful). A result without a ``level``
    takes its rule's ``defaultConfiguration.level``, else ``warning``."""
    runs = data.get("runs")
    if not isinstance(runs, list) or not runs:
        raise ValueError("holds no run")
    out = []
    for number, run in enumerate(runs, start=1):
        invocations = run.get("invocations") or []
        failed = any(i.get("toolExecutionSuccessful") is False for i in invocations)
        if failed or not isinstance(run.get("results"), list):
            raise ValueError(f"run {number} did not complete its scan (no results)")
        driver = ((run or {}).get("tool") or {}).get("driver") or {}
        rules = {r.get("id"): r for r in driver.get("rules") or [] if isinstance(r, dict)}
        for result in run["results"]:
            if result.get("kind", "fail") in NOT_FINDINGS:
                continue
            rule = rules.get(result.get("ruleId"), {})
            default = (rule.get("defaultConfiguration") or {}).get("level", "warning")
            score = (rule.get("properties") or {}).get("security-severity")
            if score is not None:
                try:
                    s = float(score)
                except (TypeError, ValueError):
                    s = 7.0
                out.append(
                    "critical" if s >= 9 else "high" if s >= 7 else "medium" if s >= 4 else "low"
                )
            else:
                out.append(_level(result.get("level", default)) or "medium")
    return out


def _pip_audit(data: Any) -> list[str]:
    deps = data.get("dependencies") if isinstance(data, dict) else data
    if not isinstance(deps, list):
        raise TypeError("no dependencies list")
    out = []
    for dep in deps:
        for vuln in dep.get("vulns") or []:
            # pip-audit does not grade severity: every known vulnerability counts as high
            out.append(_level(vuln.get("severity", "high")) or "high")
    return out


def _trivy(data: dict[str, Any]) -> list[str]:
    if "Results" not in data and "SchemaVersion" not in data:  # a clean scan omits Results
        raise TypeError("not a Trivy report")
    out = []
    for result in data.get("Results") or []:
        for vuln in result.get("Vulnerabilities") or []:
            level = _level(vuln.get("Severity", "unknown"))
            if level:
                out.append(level)
    return out


def _read(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_REPORT + 1)
    except FileNotFoundError:
        raise ProviderRejected(f"the report {path} does not exist") from None
    except OSError as exc:
        raise ProviderRejected(f"cannot read the report {path}: {exc.strerror}") from None
    if len(raw) > MAX_REPORT:
        raise ProviderRejected(f"the report {path} is larger than {MAX_REPORT} bytes")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ProviderRejected(f"the report {path} is not JSON") from None


def _detect(data: Any, path: Path) -> ReportFormat:
    """Which report ``data`` is; a JSON document of none of them (a scanner's error, ``{}``)
    is not a report that found nothing."""
    if isinstance(data, dict) and "runs" in data:
        return ReportFormat.SARIF
    if isinstance(data, dict) and ("Results" in data or "SchemaVersion" in data):
        return ReportFormat.TRIVY
    if isinstance(data, list) or (isinstance(data, dict) and "dependencies" in data):
        return ReportFormat.PIP_AUDIT
    raise ProviderRejected(f"the report {path} is not a SARIF, pip-audit or Trivy report")


def run(settings: Settings, change: ChangeRequest, context: CheckContext) -> CheckOutcome:
    path = Path(settings.report)
    data = _read(path)
    fmt = settings.format
    if fmt is ReportFormat.AUTO:
        fmt = _detect(data, path)
    read = {
        ReportFormat.SARIF: _sarif,
        ReportFormat.PIP_AUDIT: _pip_audit,
        ReportFormat.TRIVY: _trivy,
    }[fmt]
    try:
        levels = read(data)
    except (AttributeError, TypeError):
        raise ProviderRejected(f"the report {path} is not a {fmt} report") from None
    except ValueError as exc:
        raise ProviderRejected(f"the report {path} {exc}") from None
    floor = SEVERITIES.index(settings.severity)
    counts = {s: levels.count(s) for s in SEVERITIES if levels.count(s)}
    summary = ", ".join(
        f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: -SEVERITIES.index(kv[0]))
    )
    blocking = sum(n for s, n in counts.items() if SEVERITIES.index(s) >= floor)
    if blocking:
        return CheckOutcome.failed(
            f"{blocking} vulnerabilities at or above {SEVERITIES[floor]} in {path} ({summary})"
        )
    return CheckOutcome.passed(
        f"no vulnerability at or above {SEVERITIES[floor]}" + (f" ({summary})" if summary else "")
    )
