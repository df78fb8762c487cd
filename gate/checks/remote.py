"""Checks that ask outside systems: GitHub, Prometheus (error budget), PagerDuty, any JSON API,
and the flag providers."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from typing import Any

from gate.checks.interface import CheckOutcome, CheckSpec, Status
from gate.errors import ConfigError
from gate.policy.change import ChangeRequest


def _secret(spec: CheckSpec, default_env: str) -> str:
    var = spec.settings.get("tokenEnv", default_env)
    value = os.environ.get(var, "")
    if not value:
        raise ConfigError(
            f"environment variable {var} is not set",
            file=spec.file,
            line=spec.line,
            field=f"checks.{spec.name}.tokenEnv",
        )
    return value


def _client(base_url: str, headers: Mapping[str, str], timeout: float) -> Any:
    import httpx

    return httpx.Client(
        base_url=base_url,
        headers=dict(headers),
        timeout=timeout,
        verify=True,
        follow_redirects=False,
    )


def _get_all(
    client: Any, path: str, params: dict[str, Any] | None = None, key: str | None = None
) -> list[Any]:
    """Follow GitHub's Link: rel="next" pagination (at most 20 pages)."""
    items: list[Any] = []
    url: str | None = path
    query = {"per_page": 100, **(params or {})}
    for _ in range(20):
        if url is None:
            break
        response = client.get(url, params=query)
        query = {}
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {response.status_code}")
        data = response.json()
        items.extend(data[key] if key else data)
        url = response.links.get("next", {}).get("url")
    return items


def github(spec: CheckSpec, change: ChangeRequest) -> CheckOutcome:
    """The commit's check runs and statuses succeeded; the pull request has enough approvals
    from people other than its author; critical paths have their own minimum."""
    s = spec.settings
    repo = s.get("repository") or change.repository or os.environ.get("GITHUB_REPOSITORY", "")
    sha = change.commit or os.environ.get("GITHUB_SHA", "")
    if not repo:
        raise ConfigError(
            "no repository: set it on the change request or the check",
            file=spec.file,
            line=spec.line,
            field=f"checks.{spec.name}",
        )
    token = _secret(spec, "GITHUB_TOKEN")
    api = s.get("apiUrl") or os.environ.get("GITHUB_API_URL", "https://api.github.com")
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    problems: list[str] = []
    with _client(api, headers, spec.timeout) as client:
        if sha:
            runs = _get_all(client, f"/repos/{repo}/commits/{sha}/check-runs", key="check_runs")
            for run in runs:
                if run.get("status") != "completed":
                    problems.append(f"check run {run.get('name')} is {run.get('status')}")
                elif run.get("conclusion") not in ("success", "neutral", "skipped"):
                    problems.append(
                        f"check run {run.get('name')} concluded {run.get('conclusion')}"
                    )
            status = client.get(f"/repos/{repo}/commits/{sha}/status")
            if status.status_code != 200:
                raise RuntimeError(f"commit status: HTTP {status.status_code}")
            combined = status.json()
            if combined.get("statuses") and combined.get("state") != "success":
                failing = [
                    st.get("context") for st in combined["statuses"] if st.get("state") != "success"
                ]
                problems.append(
                    f"commit status is {combined.get('state')} ({', '.join(map(str, failing))})"
                )
        if change.pull_request is not None:
            number = change.pull_request
            pr = client.get(f"/repos/{repo}/pulls/{number}")
            if pr.status_code != 200:
                raise RuntimeError(f"pull request #{number}: HTTP {pr.status_code}")
            author = pr.json().get("user", {}).get("login")
            latest: dict[str, str] = {}
            for review in _get_all(client, f"/repos/{repo}/pulls/{number}/reviews"):
                login = review.get("user", {}).get("login")
                if login and login != author and review.get("state") != "COMMENTED":
                    latest[login] = review.get("state", "")
            approvals = sorted(u for u, st in latest.items() if st == "APPROVED")
            need = int(s.get("minApprovals", 1))
            files = [
                f.get("filename", "")
                for f in _get_all(client, f"/repos/{repo}/pulls/{number}/files")
            ]
            critical = [
                f for f in files for g in s.get("criticalPaths", []) if fnmatch.fnmatch(f, g)
            ]
            if critical:
                need = max(need, int(s.get("criticalApprovals", 2)))
            if len(approvals) < need:
                why = f" (touches {', '.join(sorted(set(critical))[:5])})" if critical else ""
                problems.append(
                    f"pull request #{number} has {len(approvals)} approving "
                    f"review(s) from people other than its author; {need} "
                    f"needed{why}"
                )
    if problems:
        return CheckOutcome.failed("; ".join(problems))
    return CheckOutcome.passed(f"{repo}@{sha[:7] or '-'}: checks green, reviews sufficient")


def error_budget(spec: CheckSpec, change: ChangeRequest, provider: Any = None) -> CheckOutcome:
    """Budget consumed over the SLO window: below 50 % healthy, 50-100 % warns, over 100 %
    (exhausted) blocks non-emergency changes. Burn rates of 14.4× over 1 h and 5 m, or 6×
    over 6 h and 30 m, block too (the SRE workbook's paging pairs)."""
    s = spec.settings
    if "errorRatio" not in s or "objective" not in s:
        raise ConfigError(
            "an error-budget check needs objective and errorRatio",
            file=spec.file,
            line=spec.line,
            field=f"checks.{spec.name}",
        )
    close = False
    if provider is None:
        from gate.providers.metrics.prometheus import PrometheusProvider

        provider = PrometheusProvider(s["url"], timeout=spec.timeout)
        close = True
    budget = 1 - float(s["objective"])
    window = s.get("window", "30d")

    def ratio(over: str) -> float | None:
        result = provider.query(s["errorRatio"].replace("{{ window }}", over))
        values = [x.value for x in result.samples if x.value == x.value]
        return max(values) if values else None

    try:
        consumed_ratio = ratio(window)
        if consumed_ratio is None:
            raise RuntimeError(f"the error ratio over {window} returned no data")
        consumed = consumed_ratio / budget
        burning = []
        if s.get("burnRates", True):
            for factor, long, short in ((14.4, "1h", "5m"), (6.0, "6h", "30m")):
                rates = [ratio(long), ratio(short)]
                if all(r is not None and r / budget >= factor for r in rates):
                    burning.append(f"{factor:g}× burn over {long} and {short}")
    finally:
        if close:
            provider.close()
    text = (
        f"{consumed:.0%} of the error budget used over {window} (SLO {float(s['objective']):.3%})"
    )
    emergency = change.type.value == "emergency"
    if burning:
        return CheckOutcome.failed(f"{text}; burning fast: {', '.join(burning)}")
    if consumed > 1:
        if emergency or not s.get("blockWhenExhausted", True):
            return CheckOutcome(Status.WARN, f"{text}: exhausted (emergency change allowed)")
        return CheckOutcome.failed(f"{text}: exhausted; only emergency changes may ship")
    if consumed >= 0.5:
        return CheckOutcome(Status.WARN, f"{text}: more than half used")
    return CheckOutcome.passed(text)


SEV_RANK = {"SEV-1": 1, "SEV-2": 2, "SEV-3": 3, "SEV-4": 4, "SEV-5": 5}


def _sev(incident: Mapping[str, Any]) -> int:
    """P1 → SEV-1 … P5 → SEV-5 from PagerDuty's priority; without one, high urgency is SEV-2,
    low urgency SEV-4."""
    summary = ((incident.get("priority") or {}).get("summary") or "").upper()
    if len(summary) == 2 and summary[0] == "P" and summary[1].isdigit():
        return int(summary[1])
    return 2 if incident.get("urgency") == "high" else 4


def incidents(spec: CheckSpec, change: ChangeRequest) -> CheckOutcome:
    """Block while an incident at ``minSeverity`` (default SEV-2) or worse is open on an
    affected service (PagerDuty's REST API; ``services`` maps our names to its service ids)."""
    s = spec.settings
    token = _secret(spec, "PAGERDUTY_TOKEN")
    mapping: Mapping[str, str] = s.get("services", {})
    ids = sorted({mapping[name] for name in change.affected_services if name in mapping})
    if not ids:
        return CheckOutcome.passed("no affected service is mapped to a PagerDuty service")
    limit = SEV_RANK[s.get("minSeverity", "SEV-2")]
    headers = {"Authorization": f"Token token={token}", "Accept": "application/json"}
    params: dict[str, Any] = {
        "statuses[]": ["triggered", "acknowledged"],
        "service_ids[]": ids,
        "limit": 100,
    }
    with _client(s.get("url", "https://api.pagerduty.com"), headers, spec.timeout) as client:
        response = client.get("/incidents", params=params)
    if response.status_code != 200:
        raise RuntimeError(f"PagerDuty incidents: HTTP {response.status_code}")
    open_ = [i for i in response.json().get("incidents", []) if _sev(i) <= limit]
    if open_:
        listed = "; ".join(
            f"#{i.get('incident_number')} SEV-{_sev(i)} {i.get('title')}" for i in open_[:5]
        )
        return CheckOutcome.failed(f"{len(open_)} open incident(s) on affected services: {listed}")
    return CheckOutcome.passed(f"no open incident at SEV-{limit} or worse")


def http_json(spec: CheckSpec, change: ChangeRequest) -> CheckOutcome:
    """GET a URL; the value at a JSON pointer must equal ``equals`` or lie within min/max."""
    from gate.providers.http_retry import headers_from_env
    from gate.providers.traffic.webhook import parse_pointer, resolve_pointer

    s = spec.settings
    headers = headers_from_env(s.get("headersEnv"), field=f"checks.{spec.name}.headersEnv")
    with _client("", headers, spec.timeout) as client:
        response = client.get(s["url"])
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}")
    value = resolve_pointer(response.json(), parse_pointer(s.get("pointer", "")))
    if "equals" in s and value != s["equals"]:
        return CheckOutcome.failed(
            f"{s.get('pointer', '/')} is {value!r}, expected {s['equals']!r}"
        )
    if "max" in s and float(value) > float(s["max"]):
        return CheckOutcome.failed(f"{s.get('pointer', '/')} is {value}, above {s['max']}")
    if "min" in s and float(value) < float(s["min"]):
        return CheckOutcome.failed(f"{s.get('pointer', '/')} is {value}, below {s['min']}")
    return CheckOutcome.passed(f"{s.get('pointer', '/')} is {value!r}")


def flags_exist(spec: CheckSpec, change: ChangeRequest) -> CheckOutcome:
    """Every flag the change request names exists in its provider."""
    from gate.providers.flags.killswitch import missing_flags

    if not change.flags:
        return CheckOutcome.passed("the change names no flags")
    missing = missing_flags(list(change.flags))
    if missing:
        return CheckOutcome.failed(f"flags not found: {', '.join(missing)}")
    return CheckOutcome.passed(f"{len(change.flags)} flag(s) exist")
