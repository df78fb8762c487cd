"""Live pre-deployment checks: local ones on real files and processes, SaaS ones against their
documented REST shapes with respx, and the runner's fail-closed behaviour."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import yaml

from gate.change import ChangeRequest
from gate.checks.interface import CheckContext, CheckOutcome, CheckSpec, Status
from gate.checks.registry import CHECKS, parse_checks
from gate.checks.runner import run_checks
from gate.config.loader import load_text
from gate.config.node import Node
from gate.errors import ProviderRejected
from gate.policy.engine import evaluate
from gate.policy.result import Severity
from gate.providers.metrics.interface import MetricsProvider, QueryResult, Sample
from tests.cli.conftest import Result
from tests.policy.helpers import change, policy

PY = sys.executable


def spec(kind: str, **settings: Any) -> CheckSpec:
    """A check as a policy file would declare it, loaded through the policy loader."""
    doc = load_text(yaml.safe_dump({"checks": [{"type": kind, **settings}]}), "policy.yaml")
    (parsed,) = parse_checks([Node(doc, ("checks", 0))])
    return parsed


def run(
    check: CheckSpec, c: ChangeRequest, metrics: Callable[..., MetricsProvider] | None = None
) -> CheckOutcome:
    return CHECKS[check.type].run(check.settings, c, CheckContext(check.timeout, metrics))


def command(check: CheckSpec, c: ChangeRequest) -> CheckOutcome:
    return run(check, c)


vulnerabilities = migrations = github = incidents = flags_exist = command


def test_command_passes_on_exit_0_and_names_the_failure() -> None:
    assert command(spec("command", argv=[PY, "-c", "pass"]), change()).status is Status.PASS
    out = command(spec("command", argv=[PY, "-c", "import sys; sys.exit('db lag 40s')"]), change())
    assert (out.status, out.message.endswith("exited 1: db lag 40s")) == (Status.FAIL, True)
    with pytest.raises(ProviderRejected, match=r"^/nonexistent/tool: command not found$"):
        command(spec("command", argv=["/nonexistent/tool"]), change())


def write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_vulnerability_reports(tmp_path: Path) -> None:
    sarif = write(
        tmp_path,
        "r.sarif",
        {
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "rules": [
                                {"id": "CVE-1", "properties": {"security-severity": "9.8"}},
                                {"id": "CVE-2", "properties": {"security-severity": "5.0"}},
                            ]
                        }
                    },
                    "results": [{"ruleId": "CVE-1", "level": "error"}, {"ruleId": "CVE-2"}],
                }
            ]
        },
    )
    out = vulnerabilities(spec("vulnerabilities", report=sarif), change())
    assert (out.status, out.message) == (
        Status.FAIL,
        f"1 vulnerabilities at or above high in {sarif} (1 critical, 1 medium)",
    )
    trivy = write(
        tmp_path,
        "t.json",
        {
            "Results": [
                {
                    "Vulnerabilities": [
                        {"VulnerabilityID": "CVE-3", "Severity": "MEDIUM"},
                        {"Severity": "LOW"},
                    ]
                }
            ]
        },
    )
    assert vulnerabilities(spec("vulnerabilities", report=trivy), change()).status is Status.PASS
    assert (
        vulnerabilities(spec("vulnerabilities", report=trivy, severity="medium"), change()).status
        is Status.FAIL
    )
    pip_audit = write(
        tmp_path,
        "p.json",
        {
            "dependencies": [
                {
                    "name": "jinja2",
                    "version": "2.0",
                    "vulns": [{"id": "PYSEC-1", "fix_versions": []}],
                },
                {"name": "ok", "version": "1", "vulns": []},
            ]
        },
    )
    assert "1 high" in vulnerabilities(spec("vulnerabilities", report=pip_audit), change()).message


def test_migrations_need_their_rollback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "migrations").mkdir()
    for name in ("001_users.up.sql", "001_users.down.sql", "002_orders.up.sql"):
        (tmp_path / "migrations" / name).write_text("--")
    out = migrations(spec("migrations"), change())
    assert out.message == (
        "1 migration(s) cannot be rolled back: migrations/002_orders.up.sql "
        "(no 002_orders.down.sql)"
    )
    (tmp_path / "versions").mkdir()
    (tmp_path / "versions" / "a1.py").write_text(
        "def upgrade():\n    op.x()\n\ndef downgrade():\n    pass\n"
    )
    (tmp_path / "versions" / "b2.py").write_text(
        "def upgrade():\n    op.x()\n\ndef downgrade():\n    op.drop_table('t')\n"
    )
    out = migrations(spec("migrations", glob="versions/*.py"), change())
    assert out.message == "1 migration(s) cannot be rolled back: versions/a1.py (no downgrade)"


API = "https://api.github.com"
SHA = "a" * 40


def github_routes(
    check_runs: list[dict[str, Any]],
    reviews: list[dict[str, Any]],
    files: list[str],
    status_state: str = "success",
) -> None:
    respx.get(f"{API}/repos/acme/shop/commits/{SHA}/check-runs").mock(
        return_value=httpx.Response(
            200, json={"total_count": len(check_runs), "check_runs": check_runs}
        )
    )
    respx.get(f"{API}/repos/acme/shop/commits/{SHA}/status").mock(
        return_value=httpx.Response(
            200,
            json={
                "state": status_state,
                "statuses": [{"context": "ci/build", "state": status_state}],
                "sha": SHA,
            },
        )
    )
    respx.get(f"{API}/repos/acme/shop/pulls/7").mock(
        return_value=httpx.Response(200, json={"number": 7, "user": {"login": "author"}})
    )
    respx.get(f"{API}/repos/acme/shop/pulls/7/reviews").mock(
        return_value=httpx.Response(200, json=reviews)
    )
    respx.get(f"{API}/repos/acme/shop/pulls/7/files").mock(
        return_value=httpx.Response(
            200, json=[{"filename": f, "status": "modified"} for f in files]
        )
    )


def review(login: str, state: str) -> dict[str, Any]:
    return {
        "id": hash(login + state) % 1000,
        "user": {"login": login},
        "state": state,
        "author_association": "MEMBER",
    }


GREEN = [
    {"name": "test", "status": "completed", "conclusion": "success"},
    {"name": "lint", "status": "completed", "conclusion": "skipped"},
]


@respx.mock
def test_github_green_and_approved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret")
    github_routes(GREEN, [review("dana", "APPROVED"), review("author", "APPROVED")], ["app.py"])
    c = change(repository="acme/shop", commit=SHA, pullRequest=7)
    out = github(spec("github", minApprovals=1), c)
    assert out.status is Status.PASS, out.message
    assert respx.calls[0].request.headers["Authorization"] == "Bearer ghs_secret"


@respx.mock
def test_github_red_checks_and_missing_approvals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret")
    runs: list[dict[str, Any]] = [
        *GREEN,
        {"name": "e2e", "status": "completed", "conclusion": "failure"},
        {"name": "deploy-preview", "status": "in_progress", "conclusion": None},
    ]
    # dana approved, then asked for changes: her latest review counts; the author's never does
    reviews = [
        review("dana", "APPROVED"),
        review("dana", "CHANGES_REQUESTED"),
        review("li", "APPROVED"),
        review("author", "APPROVED"),
    ]
    github_routes(runs, reviews, ["db/migrations/003.sql"], status_state="failure")
    c = change(repository="acme/shop", commit=SHA, pullRequest=7)
    out = github(
        spec("github", minApprovals=1, criticalPaths=["db/**", "db/*/*"], criticalApprovals=2), c
    )
    assert out.status is Status.FAIL
    assert out.message == (
        "check run e2e concluded failure; check run deploy-preview is in_progress; commit "
        "status is failure (ci/build); pull request #7 has changes requested by dana; "
        "pull request #7 has 1 approving review(s) from people "
        "other than its author; 2 needed (touches db/migrations/003.sql)"
    )
    assert "ghs_secret" not in out.message


@respx.mock
def test_pagerduty_incidents_block_sev2_or_worse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGERDUTY_TOKEN", "pd-secret")
    route = respx.get("https://api.pagerduty.com/incidents").mock(
        return_value=httpx.Response(
            200,
            json={
                "incidents": [
                    {
                        "incident_number": 42,
                        "title": "checkout 5xx",
                        "urgency": "high",
                        "priority": {"summary": "P1"},
                        "status": "triggered",
                    },
                    {
                        "incident_number": 43,
                        "title": "slow emails",
                        "urgency": "low",
                        "priority": None,
                        "status": "acknowledged",
                    },
                ],
                "limit": 100,
                "more": False,
            },
        )
    )
    c = change(affectedServices=["checkout", "search"])
    out = incidents(spec("incidents", services={"checkout": "PCHK123"}), c)
    assert out.message == "1 open incident(s) on affected services: #42 SEV-1 checkout 5xx"
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Token token=pd-secret"
    assert request.url.params.get_list("service_ids[]") == ["PCHK123"]
    assert request.url.params.get_list("statuses[]") == ["triggered", "acknowledged"]
    unmapped = incidents(spec("incidents", services={"other": "P1"}), c)
    assert unmapped.status is Status.PASS


class Ratios:
    """A MetricsProvider fake answering the error ratio per window."""

    name = "fake"

    def __init__(self, by_window: dict[str, float]) -> None:
        self.by_window = by_window

    def query(self, query: str, at: Any = None) -> QueryResult:
        window = query.split("[")[1].split("]")[0]
        return QueryResult(query, (Sample({}, self.by_window[window]),))

    def query_range(self, *args: Any) -> list[Any]:
        return []

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("ratios", "kind", "status", "text"),
    [
        ({"30d": 0.0002}, "normal", Status.PASS, "20% of the error budget used"),
        ({"30d": 0.0007}, "normal", Status.WARN, "70% of the error budget used"),
        ({"30d": 0.0015}, "normal", Status.FAIL, "exhausted; only emergency changes may ship"),
        ({"30d": 0.0015}, "emergency", Status.WARN, "exhausted (emergency change allowed)"),
        (
            {"30d": 0.0002, "1h": 0.02, "5m": 0.03},
            "normal",
            Status.FAIL,
            "14.4× burn over 1h and 5m",
        ),
        ({"30d": 0.0002, "1h": 0.02, "5m": 0.001}, "normal", Status.PASS, "20%"),
    ],
)
def test_error_budget(ratios: dict[str, float], kind: str, status: Status, text: str) -> None:
    windows = dict.fromkeys(("30d", "1h", "5m", "6h", "30m", "1d", "2h", "3d"), 0.0) | ratios
    s = spec(
        "error-budget",
        url="http://127.0.0.1:9090",
        objective=0.999,
        errorRatio="sum(rate(errors[{{ window }}])) / sum(rate(requests[{{ window }}]))",
    )

    def fake(*_: Any) -> MetricsProvider:
        return Ratios(windows)

    out = run(s, change(type=kind, justification="INC-1"), fake)
    assert out.status is status
    assert text in out.message


def test_flags_exist_against_a_flag_file(tmp_path: Path) -> None:
    flags = tmp_path / "flags.json"
    flags.write_text(
        json.dumps(
            {
                "flags": {
                    "new-ui": {
                        "state": "ENABLED",
                        "variants": {"on": True, "off": False},
                        "defaultVariant": "on",
                    }
                }
            }
        )
    )
    c = change(
        flags=[
            {"provider": "flagd", "feature": "new-ui", "path": str(flags)},
            {"provider": "flagd", "feature": "ghost", "path": str(flags)},
        ]
    )
    out = flags_exist(spec("flags-exist"), c)
    assert out.message == "flags not found: flagd:default/ghost@production"


def run_live_checks(c: ChangeRequest, checks: list[dict[str, Any]]) -> Any:
    evaluation = evaluate(c, [policy({"checks": checks})], live_checks_runner=run_checks)
    return evaluation.findings, evaluation.checks


def items(*checks: dict[str, Any]) -> list[dict[str, Any]]:
    return list(checks)


def test_runner_fails_closed_by_default_and_open_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a token that is not set is bad input before any check runs (see test_a_live_check_whose_
    # token_is_not_set_is_bad_input… in tests/cli); a change request naming no commit or pull
    # request is the github check's misconfiguration, found as it runs
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_not-used-no-request-is-made")
    findings, timings = run_live_checks(
        change(repository="acme/shop"),
        items(
            {"type": "github", "name": "ci"},
            {"type": "github", "name": "ci-optional", "onError": "fail-open"},
            {
                "type": "command",
                "name": "slow",
                "argv": [PY, "-c", "import time; time.sleep(5)"],
                "timeout": "300ms",
                "required": False,
            },
            {"type": "command", "name": "ok", "argv": [PY, "-c", "pass"]},
            {
                "type": "command",
                "name": "hung",
                "argv": [PY, "-c", "import time; time.sleep(5)"],
                "timeout": "300ms",
                "onError": "fail-open",
            },
        ),
    )
    by_rule = {f.rule: f for f in findings}
    assert by_rule["check:ci"].severity is Severity.BLOCK
    assert (
        "could not run, so it fails closed: test.yaml:7: spec.checks[0]: neither a commit nor "
        "a pull request to check" in by_rule["check:ci"].message
    )
    # fail-open is for outages: a change request the check cannot read is the check's
    # settings, and a misconfigured check passed every change (an audit line) for as long as
    # nobody looked
    assert by_rule["check:ci-optional"].severity is Severity.BLOCK
    assert by_rule["check:ci-optional"].message == (
        "could not run, so it fails closed: test.yaml:9: spec.checks[1]: neither a commit nor "
        "a pull request to check: set commit or pullRequest on the change request"
    )
    assert by_rule["check:slow"].severity is Severity.WARN
    assert "timed out after 0.3s" in by_rule["check:slow"].message
    assert "check:ok" not in by_rule
    assert by_rule["check:hung"].severity is Severity.INFO
    assert [(t.name, t.outcome) for t in timings] == [
        ("ci", "error"),
        ("ci-optional", "error"),
        ("slow", "error"),
        ("ok", "pass"),
        ("hung", "error"),
    ]


def test_bad_check_definitions_are_bad_input_when_the_policy_loads() -> None:
    from gate.errors import ConfigError

    with pytest.raises(ConfigError, match=r"checks\[0\].argv: required field is missing"):
        policy({"checks": [{"type": "command"}]})
    with pytest.raises(ConfigError, match="'gitlab' is not one of"):
        policy({"checks": [{"type": "gitlab"}]})
    with pytest.raises(ConfigError, match=r"checks\[0\].argv: not a setting of a github check"):
        policy({"checks": [{"type": "github", "argv": ["x"]}]})


def test_gate_check_runs_the_policy_checks(gate: Callable[..., Result], tmp_path: Path) -> None:
    policy = tmp_path / "live.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "gate/v1",
                "kind": "Policy",
                "metadata": {"name": "live"},
                "spec": {
                    "checks": [
                        {"type": "command", "name": "smoke", "argv": [PY, "-c", "print('ok')"]},
                        {
                            "type": "command",
                            "name": "db-lag",
                            "argv": [PY, "-c", "import sys; sys.exit('replica lag 40s')"],
                            "remediation": "wait for the replicas to catch up",
                        },
                    ]
                },
            }
        )
    )
    r = gate(
        "check",
        "--change",
        "examples/change-pass.yaml",
        "--policy",
        str(policy),
        "-f",
        "json",
        "--now",
        "2026-11-22T12:00:00Z",
    )
    data = json.loads(r.out)
    assert (r.code, data["decision"]) == (1, "block")
    [finding] = data["findings"]
    assert finding["rule"] == "check:db-lag"
    assert finding["message"].endswith("exited 1: replica lag 40s")
    assert [(c["name"], c["outcome"]) for c in data["checks"]] == [
        ("smoke", "pass"),
        ("db-lag", "fail"),
    ]
    assert all(c["seconds"] >= 0 for c in data["checks"])


class PagerDutyIncidentList:
    """A strict fake of PagerDuty's ``GET /incidents`` as its API reference ("List
    incidents") documents it: ``statuses[]`` and ``service_ids[]`` filter; without ``since``
    only incidents created in the last month are listed unless ``date_range=all``; offset
    pagination with ``limit``, ``offset`` and ``more``. Any other parameter is refused."""

    KNOWN = frozenset(
        {"statuses[]", "service_ids[]", "date_range", "since", "until", "limit", "offset"}
    )

    def __init__(self, incidents: list[dict[str, Any]], now: str = "2026-11-24T10:00:00Z") -> None:
        self.incidents = incidents
        self.now = datetime.fromisoformat(now)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        params = request.url.params
        if set(params) - self.KNOWN or request.headers.get("Authorization", "")[:12] != (
            "Token token="
        ):
            return httpx.Response(400, json={"error": {"message": "Invalid Input Provided"}})
        found = self.incidents
        if params.get("date_range") != "all":
            since = self.now - timedelta(days=30)
            found = [i for i in found if datetime.fromisoformat(i["created_at"]) >= since]
        if params.get_list("statuses[]"):
            found = [i for i in found if i["status"] in params.get_list("statuses[]")]
        if params.get_list("service_ids[]"):
            found = [i for i in found if i["service"]["id"] in params.get_list("service_ids[]")]
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 25))
        page = found[offset : offset + limit]
        more = offset + limit < len(found)
        return httpx.Response(
            200, json={"incidents": page, "limit": limit, "offset": offset, "more": more}
        )


def _incident(number: int, service: str, created: str, priority: str) -> dict[str, Any]:
    return {
        "incident_number": number,
        "title": f"incident {number}",
        "status": "acknowledged",
        "urgency": "high",
        "priority": {"summary": priority},
        "service": {"id": service, "type": "service_reference"},
        "created_at": created,
    }


@respx.mock
def test_pagerduty_finds_an_incident_opened_long_ago_and_still_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A SEV-1 acknowledged six weeks ago and still open blocks: PagerDuty lists only the
    last month's incidents unless asked for date_range=all, so it used to pass unseen."""
    monkeypatch.setenv("PAGERDUTY_TOKEN", "pd-secret")
    api = PagerDutyIncidentList([_incident(7, "PCHK123", "2026-10-13T08:00:00Z", "P1")])
    respx.get("https://api.pagerduty.com/incidents").mock(side_effect=api)
    c = change(affectedServices=["checkout"])
    out = incidents(spec("incidents", services={"checkout": "PCHK123"}), c)
    assert out.status is Status.FAIL
    assert out.message == "1 open incident(s) on affected services: #7 SEV-1 incident 7"


@respx.mock
def test_pagerduty_without_a_service_map_asks_about_every_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An incidents check with no services map used to pass every change without asking
    PagerDuty anything; it now blocks on an open incident of any service. Service names
    match in any case."""
    monkeypatch.setenv("PAGERDUTY_TOKEN", "pd-secret")
    api = PagerDutyIncidentList([_incident(9, "PDB0001", "2026-11-24T09:00:00Z", "P2")])
    respx.get("https://api.pagerduty.com/incidents").mock(side_effect=api)
    out = incidents(spec("incidents"), change(affectedServices=["search"]))
    assert out.status is Status.FAIL
    assert "service_ids[]" not in api.requests[-1].url.params
    cased = incidents(
        spec("incidents", services={"db": "PDB0001"}), change(affectedServices=["DB"])
    )
    assert cased.status is Status.FAIL
    assert api.requests[-1].url.params.get_list("service_ids[]") == ["PDB0001"]


@pytest.mark.parametrize(
    ("body", "settings"),
    [
        (b'{"error_rate": NaN}', {"max": 0.01}),
        (b'{"error_rate": -Infinity}', {"max": 0.01}),
        (b'{"error_rate": Infinity}', {"min": 0.5}),
        (b'{"error_rate": true}', {"equals": 1}),
        (b'{"error_rate": 1}', {"equals": True}),
        (b'{"error_rate": 0}', {"equals": False}),
    ],
)
def test_http_json_values_that_are_not_what_was_asked_fail(
    body: bytes, settings: dict[str, Any]
) -> None:
    """A status endpoint answering NaN (Python's JSON reader accepts it) passed every bound,
    as did -Infinity under a max; true passed for equals: 1 and 0 for equals: false."""
    from tests.faults.server import Answer, FaultServer

    with FaultServer(max_seconds=10) as server:
        server.handler = lambda request: Answer(200, body)
        check = spec("http-json", url=server.url + "/health", pointer="/error_rate", **settings)
        out = run(check, change())
    assert out.status is Status.FAIL, out.message


@pytest.mark.parametrize(
    ("report", "why"),
    [
        ({}, "is not a SARIF, pip-audit or Trivy report"),
        ({"error": "registry unreachable"}, "is not a SARIF, pip-audit or Trivy report"),
        ({"runs": []}, "holds no run"),
        ({"runs": [{"tool": {"driver": {"name": "grype"}}}]}, "run 1 did not complete"),
        ({"runs": [{"tool": {}, "results": None}]}, "run 1 did not complete"),
        (
            {
                "runs": [
                    {
                        "tool": {"driver": {"name": "trivy"}},
                        "invocations": [{"toolExecutionSuccessful": False}],
                        "results": [],
                    }
                ]
            },
            "run 1 did not complete",
        ),
    ],
)
def test_a_report_of_no_scan_is_not_a_clean_report(
    tmp_path: Path, report: dict[str, Any], why: str
) -> None:
    """A scanner that failed and wrote an error object, an empty object, or a SARIF run with
    no results (SARIF 2.1.0: results null or absent means the tool did not produce results;
    invocation.toolExecutionSuccessful false means it failed) used to pass as 'no
    vulnerability'; the check now cannot decide, so it fails closed."""
    path = write(tmp_path, "r.json", report)
    with pytest.raises(ProviderRejected, match=why):
        vulnerabilities(spec("vulnerabilities", report=path), change())


def test_a_sarif_result_without_a_level_takes_its_rules_default(tmp_path: Path) -> None:
    """SARIF 2.1.0 §3.27.10: a result's level defaults to its rule's
    defaultConfiguration.level, and only then to warning; results of kind pass are not
    findings."""
    rules = [{"id": "R1", "defaultConfiguration": {"level": "error"}}]
    results = [{"ruleId": "R1"}, {"ruleId": "R1", "kind": "pass", "level": "error"}]
    run = {"tool": {"driver": {"rules": rules}}, "results": results}
    path = write(tmp_path, "r.sarif", {"runs": [run]})
    out = vulnerabilities(spec("vulnerabilities", report=path), change())
    assert (out.status, out.message) == (
        Status.FAIL,
        f"1 vulnerabilities at or above high in {path} (1 high)",
    )


@pytest.mark.parametrize(
    "body",
    [
        "    raise NotImplementedError('irreversible')\n",
        '    """\n    Irreversible: the data is gone.\n    """\n    pass\n',
        "    ...\n",
        "    # ### commands auto generated by Alembic - please adjust! ###\n    pass\n",
    ],
)
def test_a_downgrade_that_undoes_nothing_is_no_rollback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str
) -> None:
    """A downgrade() that raises (Alembic's usual mark of an irreversible migration), holds
    a docstring over several lines, or only `...` used to count as a rollback."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "versions").mkdir()
    upgrade = "def upgrade() -> None:\n    op.drop_column('t', 'c')\n\n\n"
    (tmp_path / "versions" / "c3.py").write_text(f"{upgrade}def downgrade() -> None:\n{body}")
    out = migrations(spec("migrations", glob="versions/*.py"), change())
    assert out.message == "1 migration(s) cannot be rolled back: versions/c3.py (no downgrade)"


@pytest.mark.parametrize("label", ["SEV-1", "SEV1", "Sev 1", "P0", "SEV-0", "Critical"])
@respx.mock
def test_pagerduty_priorities_named_as_severities_count(
    monkeypatch: pytest.MonkeyPatch, label: str
) -> None:
    """PagerDuty's priority labels are named per account, "usually P1 through P5 or SEV-1
    through SEV-5" (its Incident Priority guide); only P1-P5 were read, so a low-urgency
    SEV-1 counted as SEV-4 and passed."""
    monkeypatch.setenv("PAGERDUTY_TOKEN", "pd-secret")
    incident = {**_incident(11, "PCHK123", "2026-11-24T09:00:00Z", label), "urgency": "low"}
    respx.get("https://api.pagerduty.com/incidents").mock(
        side_effect=PagerDutyIncidentList([incident])
    )
    out = incidents(
        spec("incidents", services={"checkout": "PCHK123"}), change(affectedServices=["checkout"])
    )
    assert out.status is Status.FAIL
    assert "#11 SEV-1 incident 11" in out.message
