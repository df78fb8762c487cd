"""Run a policy's live checks concurrently, each within its timeout, and turn their outcomes
into findings. The whole run takes about as long as the slowest check.

A check that cannot run (unreachable server, missing token, timeout) fails closed: it blocks
when required, warns otherwise, and says so. ``onError: fail-open`` makes it an audit record
instead — an explicit, visible choice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from gate.checks import local, remote
from gate.checks.interface import CheckFunction, CheckOutcome, CheckSpec, Status
from gate.config.loader import Document, PathKey
from gate.errors import ConfigError, ConfigErrors, GateError
from gate.policy.change import ChangeRequest
from gate.policy.result import CheckTiming, Finding, Severity, SourceLocation

CHECKS: dict[str, CheckFunction] = {
    "command": local.command,
    "vulnerabilities": local.vulnerabilities,
    "migrations": local.migrations,
    "github": remote.github,
    "error-budget": remote.error_budget,
    "incidents": remote.incidents,
    "http-json": remote.http_json,
    "flags-exist": remote.flags_exist,
}
NEEDS = {"command": ("argv",), "vulnerabilities": ("report",), "http-json": ("url",),
         "error-budget": ("url", "objective", "errorRatio")}  # fmt: skip


def _timeout(text: str) -> float:
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    return float(text[:-1]) * (60 if text.endswith("m") else 1)


def parse_checks(items: Sequence[tuple[Mapping[str, Any], Document, PathKey]]) -> list[CheckSpec]:
    from jsonschema import Draft202012Validator

    from gate.config.validate import errors_for, schema

    validator = Draft202012Validator(schema("live-check"))
    specs: list[CheckSpec] = []
    errors: list[ConfigError] = []
    names: set[str] = set()
    for raw, doc, path in items:
        if next(iter(validator.iter_errors(raw)), None) is not None:
            errors.extend(
                ConfigError(
                    e.message, file=doc.file, line=doc.line_of(path), field=_field(path, e.field)
                )
                for e in errors_for(doc, "live-check", data=raw)
            )
            continue
        kind = raw["type"]
        name = raw.get("name", kind)
        line = doc.line_of(path)
        for key in NEEDS.get(kind, ()):
            if key not in raw:
                errors.append(doc.error(path, f"a {kind} check needs {key!r}"))
        if name in names:
            errors.append(doc.error((*path, "name"), f"two checks are named {name!r}"))
        names.add(name)
        specs.append(
            CheckSpec(
                type=kind,
                name=name,
                required=raw.get("required", True),
                remediation=raw.get("remediation", ""),
                timeout=_timeout(raw["timeout"]) if "timeout" in raw else 10.0,
                on_error=raw.get("onError", "fail-closed"),
                settings={
                    k: v
                    for k, v in raw.items()
                    if k not in ("type", "name", "required", "remediation", "timeout", "onError")
                },
                file=doc.file,
                line=line,
            )
        )
    if errors:
        raise ConfigErrors(errors)
    return specs


def _field(path: PathKey, inner: str | None) -> str:
    from gate.config.loader import dotted

    base = dotted(path)
    return f"{base}.{inner}" if inner else base


def _run_one(spec: CheckSpec, change: ChangeRequest) -> CheckOutcome:
    try:
        return CHECKS[spec.type](spec, change)
    except ConfigError as exc:
        return CheckOutcome(Status.ERROR, exc.one_line())
    except GateError as exc:
        return CheckOutcome(Status.ERROR, str(exc))
    except Exception as exc:  # noqa: BLE001 - a check's failure to run is an outcome, not a crash
        import httpx

        from gate.providers.http_retry import describe_transport_error

        if isinstance(exc, httpx.HTTPError):
            return CheckOutcome(Status.ERROR, describe_transport_error(exc))
        return CheckOutcome(Status.ERROR, f"{type(exc).__name__}: {exc}")


def _finding(spec: CheckSpec, outcome: CheckOutcome, change: ChangeRequest) -> Finding | None:
    if outcome.status is Status.PASS:
        return None
    if outcome.status is Status.ERROR:
        if spec.on_error == "fail-open":
            severity = Severity.INFO
            message = f"could not run, ignored because onError is fail-open: {outcome.message}"
        else:
            severity = Severity.BLOCK if spec.required else Severity.WARN
            message = (
                f"could not run, so it fails closed: {outcome.message} (set onError: "
                "fail-open to let the deploy through when this check cannot run)"
            )
    elif outcome.status is Status.WARN:
        severity, message = Severity.WARN, outcome.message
    else:
        severity = Severity.BLOCK if spec.required else Severity.WARN
        message = outcome.message
    return Finding(
        rule=f"check:{spec.name}",
        severity=severity,
        message=message,
        remediation=spec.remediation,
        location=SourceLocation(spec.file, spec.line),
        policy="",
        field=None,
    )


def run_checks(
    specs: Sequence[CheckSpec], change: ChangeRequest
) -> tuple[list[Finding], list[CheckTiming]]:
    findings: list[Finding] = []
    timings: list[CheckTiming] = []
    if not specs:
        return findings, timings
    pool = ThreadPoolExecutor(max_workers=min(16, len(specs)), thread_name_prefix="check")
    futures = [(spec, time.monotonic(), pool.submit(_run_one, spec, change)) for spec in specs]
    try:
        for spec, began, future in futures:
            remaining = spec.timeout - (time.monotonic() - began)
            try:
                outcome = future.result(timeout=max(0.0, remaining))
            except FutureTimeout:
                outcome = CheckOutcome(Status.ERROR, f"timed out after {spec.timeout:g}s")
            seconds = min(time.monotonic() - began, spec.timeout)
            finding = _finding(spec, outcome, change)
            if finding is not None:
                findings.append(finding)
            timings.append(CheckTiming(spec.name, seconds, outcome.status.value, outcome.message))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return findings, timings


def run_live_checks(
    change: ChangeRequest, items: Sequence[tuple[Mapping[str, Any], Document, PathKey]]
) -> tuple[list[Finding], list[CheckTiming]]:
    """The runner ``gate.policy.engine.evaluate`` takes: parse, then run every check."""
    return run_checks(parse_checks(items), change)
