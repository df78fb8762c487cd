"""Checks that read the local machine: a command, a vulnerability report, migrations."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from gate.checks.interface import CheckOutcome, CheckSpec
from gate.policy.change import ChangeRequest

SEVERITIES = ("low", "medium", "high", "critical")


def _tail(text: str, limit: int = 300) -> str:
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def command(spec: CheckSpec, change: ChangeRequest) -> CheckOutcome:
    """Run an argv (never through a shell); exit 0 passes."""
    argv = list(spec.settings["argv"])
    env_change = {"GATE_CHANGE_ID": change.id, "GATE_CHANGE_FILE": change.file}
    try:
        proc = subprocess.run(  # noqa: S603 - argv from the policy, never a shell
            argv,
            capture_output=True,
            text=True,
            timeout=spec.timeout,
            check=False,
            env={**os.environ, **env_change},
        )
    except FileNotFoundError:
        return CheckOutcome.failed(f"{argv[0]}: command not found")
    except subprocess.TimeoutExpired:
        return CheckOutcome.failed(f"{argv[0]} did not finish within {spec.timeout:g}s")
    if proc.returncode == 0:
        return CheckOutcome.passed(f"{argv[0]} exited 0")
    detail = _tail(proc.stderr or proc.stdout)
    return CheckOutcome.failed(
        f"{argv[0]} exited {proc.returncode}" + (f": {detail}" if detail else "")
    )


def _level(text: str) -> str | None:
    t = text.lower()
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


def _sarif(data: dict[str, Any]) -> list[str]:
    out = []
    for run in data.get("runs", []):
        rules = {r.get("id"): r for r in run.get("tool", {}).get("driver", {}).get("rules", [])}
        for result in run.get("results", []):
            rule = rules.get(result.get("ruleId"), {})
            score = rule.get("properties", {}).get("security-severity")
            if score is not None:
                s = float(score)
                out.append(
                    "critical" if s >= 9 else "high" if s >= 7 else "medium" if s >= 4 else "low"
                )
            else:
                out.append(_level(result.get("level", "warning")) or "medium")
    return out


def _pip_audit(data: Any) -> list[str]:
    deps = data.get("dependencies", []) if isinstance(data, dict) else data
    out = []
    for dep in deps:
        for vuln in dep.get("vulns", []):
            # pip-audit does not grade severity: every known vulnerability counts as high
            out.append(_level(str(vuln.get("severity", "high"))) or "high")
    return out


def _trivy(data: dict[str, Any]) -> list[str]:
    out = []
    for result in data.get("Results", []) or []:
        for vuln in result.get("Vulnerabilities", []) or []:
            level = _level(str(vuln.get("Severity", "unknown")))
            if level:
                out.append(level)
    return out


def vulnerabilities(spec: CheckSpec, change: ChangeRequest) -> CheckOutcome:
    """Read a SARIF, pip-audit or Trivy JSON report; fail at or above ``severity``."""
    path = Path(spec.settings["report"])
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such report") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    fmt = spec.settings.get("format", "auto")
    if fmt == "auto":
        fmt = (
            "sarif"
            if isinstance(data, dict) and "runs" in data
            else "trivy"
            if isinstance(data, dict) and "Results" in data
            else "pip-audit"
        )
    levels = {"sarif": _sarif, "pip-audit": _pip_audit, "trivy": _trivy}[fmt](data)
    floor = SEVERITIES.index(spec.settings.get("severity", "high"))
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


def migrations(spec: CheckSpec, change: ChangeRequest) -> CheckOutcome:
    """Every migration matching ``glob`` has its rollback: ``*.up.sql`` ↔ ``*.down.sql`` by
    default (``up``/``down`` name the parts to swap), or for Alembic-style Python files a
    ``downgrade()`` that does more than ``pass``."""
    pattern = spec.settings.get("glob", "migrations/*.up.sql")
    up, down = spec.settings.get("up", ".up."), spec.settings.get("down", ".down.")
    files = sorted(p for p in Path().glob(pattern) if p.is_file())
    missing = []
    for f in files:
        if f.suffix == ".py" and up == ".up.":
            text = f.read_text(encoding="utf-8", errors="replace")
            body = re.search(r"def downgrade\([^)]*\)[^:]*:\s*\n((?:[ \t]+.*\n?|\s*\n)*)", text)
            lines = [ln.strip() for ln in (body.group(1) if body else "").splitlines()]
            code = [ln for ln in lines if ln and not ln.startswith(("#", '"""', "'''"))]
            if not code or code == ["pass"]:
                missing.append(f"{f} (no downgrade)")
            continue
        if up not in f.name:
            continue
        partner = f.with_name(f.name.replace(up, down, 1))
        if not partner.exists():
            missing.append(f"{f} (no {partner.name})")
    if missing:
        return CheckOutcome.failed(
            f"{len(missing)} migration(s) cannot be rolled back: " + "; ".join(missing[:10])
        )
    return CheckOutcome.passed(f"{len(files)} migration(s), each with its rollback")
