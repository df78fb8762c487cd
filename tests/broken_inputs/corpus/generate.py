"""Write the broken-input corpus: change requests, policies and rollout specs with one mistake
each, the mistakes a user makes (and a few an attacker makes).

    python tests/broken_inputs/corpus/generate.py

Every file written here must be refused by ``gate validate`` (exit 2); the generator checks
that and stops otherwise, so the corpus never holds a file that is secretly valid. The test
(tests/cli/test_corpus.py) then holds ``gate check`` / ``gate rollout --dry-run`` to the same
refusal, word for word, with no traceback and no hang.
"""

from __future__ import annotations

import copy
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]

Doc = dict[str, Any]
Mutation = Callable[[Doc], None]

CHANGE: Doc = {
    "id": "CHG-2001",
    "title": "Update the search service's synonym list",
    "type": "standard",
    "riskLevel": "low",
    "affectedServices": ["search"],
    "implementationPlan": "Deploy the new synonyms file with the standard pipeline.",
    "rollbackPlan": "Redeploy the previous release of the search service; it ships the file.",
    "testingEvidence": "Relevance suite passed on staging (run 4410).",
    "approvers": ["ana"],
    "author": "omar",
    "scheduledTime": "2026-11-25T14:30:00+01:00",
    "maintenanceWindow": False,
}

POLICY: Doc = {
    "apiVersion": "gate/v1",
    "kind": "Policy",
    "metadata": {"name": "corpus"},
    "spec": {
        "timezone": "Europe/Berlin",
        "rules": [
            {"id": "ticket", "kind": "field", "field": "title", "pattern": "^[A-Z]"},
            {"id": "office", "kind": "hours", "start": "09:00", "end": "17:00"},
        ],
        "windows": [
            {"name": "weekend", "type": "deny", "days": ["sat", "sun"]},
            {"name": "release", "type": "deny", "cron": "0 18 * * fri", "duration": "62h"},
            {
                "name": "year-end",
                "type": "deny",
                "dates": {"start": "2026-12-20", "end": "2027-01-02"},
            },
        ],
        "checks": [
            {"type": "command", "name": "smoke", "argv": ["true"], "timeout": "5s"},
            {"type": "github", "name": "ci", "minApprovals": 1},
            {
                "type": "error-budget",
                "name": "slo",
                "url": "http://127.0.0.1:9090",
                "objective": 0.999,
                "errorRatio": "sum(rate(e[{{ window }}]))",
            },
            {"type": "incidents", "name": "pd", "services": {"search": "PSEARCH"}},
            {
                "type": "http-json",
                "name": "status",
                "url": "https://status.example/api",
                "pointer": "/state",
                "equals": "ok",
            },
            {"type": "vulnerabilities", "name": "scan", "report": "trivy.json"},
            {"type": "migrations", "name": "db"},
        ],
    },
}

ROLLOUT: Doc = {
    "apiVersion": "gate/v1",
    "kind": "Rollout",
    "metadata": {"name": "checkout", "service": "checkout"},
    "spec": {
        "traffic": {
            "provider": "haproxy",
            "socket": "/run/haproxy/admin.sock",
            "backend": "app",
            "stable": "stable",
            "canary": "canary",
        },
        "metrics": {"provider": "prometheus", "url": "http://127.0.0.1:9"},
        "stages": [
            {"weight": 1, "duration": "5m"},
            {"weight": 50, "duration": "10m"},
            {"weight": 100},
        ],
        "analysis": {
            "interval": "30s",
            "metrics": [
                {"name": "error-rate", "query": "sum(rate(errors[1m]))", "max": 0.05},
                {"name": "vs-baseline", "query": "a", "baselineQuery": "b", "maxRatio": 2},
                {
                    "name": "errors",
                    "judge": "sequential",
                    "canaryErrors": "ce",
                    "canaryRequests": "cr",
                    "baselineErrors": "be",
                    "baselineRequests": "br",
                },
            ],
        },
        "onFailure": {
            "flags": [
                {
                    "provider": "unleash",
                    "url": "https://unleash.example",
                    "feature": "new-ui",
                    "tokenEnv": "UNLEASH_TOKEN",
                },
                {"provider": "flagd", "path": "flags.json", "feature": "new-ui"},
            ]
        },
        "hooks": {"pre-rollout": [{"name": "smoke", "command": ["true"]}]},
        "notifications": [{"provider": "slack", "urlEnv": "SLACK_WEBHOOK"}],
    },
}


def at(doc: Doc, *path: Any) -> Any:
    node: Any = doc
    for part in path:
        node = node[part]
    return node


def setter(*path: Any, value: Any) -> Mutation:
    def mutate(doc: Doc) -> None:
        at(doc, *path[:-1])[path[-1]] = value

    return mutate


def deleter(*path: Any) -> Mutation:
    def mutate(doc: Doc) -> None:
        del at(doc, *path[:-1])[path[-1]]

    return mutate


def adder(*path: Any, key: str, value: Any) -> Mutation:
    def mutate(doc: Doc) -> None:
        at(doc, *path)[key] = value

    return mutate


NAN = float("nan")
INF = float("inf")
HUGE_INT = "__HUGE_INTEGER__"  # written as 5,000 digits, more than Python parses by default
BAD_TIMES = {
    "no-offset": "2026-11-25T14:30:00",
    "words": "next tuesday",
    "year-0001": "0001-01-01T00:00:00+00:00",
    "year-9999": "9999-12-31T23:59:59+00:00",
    "month-13": "2026-13-01T10:00:00Z",
    "empty": "",
    "control": "2026-11-25T14:30:00+01:00\x07",
}


def change_cases() -> Iterator[tuple[str, Mutation]]:
    for field in ("id", "title", "type", "riskLevel", "scheduledTime"):
        yield f"missing-{field}", deleter(field)
    wrong = {
        "id": 42,
        "title": ["a"],
        "type": True,
        "riskLevel": 3,
        "affectedServices": "search",
        "approvers": "ana",
        "maintenanceWindow": "maybe",
        "scheduledTime": 20261125,
        "rollbackPlan": {"a": 1},
        "pullRequest": "seven",
        "links": "http://x",
        "flags": {"provider": "flagd"},
    }
    for field, value in wrong.items():
        yield f"wrong-type-{field}", setter(field, value=value)
    yield "bad-enum-type", setter("type", value="urgent")
    yield "bad-enum-risk", setter("riskLevel", value="lwo")
    for name, value in BAD_TIMES.items():
        yield f"time-{name}", setter("scheduledTime", value=value)
    yield "unknown-key", adder(key="rollbackPlna", value="x")
    yield "huge-integer", setter("pullRequest", value=HUGE_INT)
    yield "negative-pull-request", setter("pullRequest", value=-1)
    yield "approver-not-a-string", setter("approvers", value=["ana", {"name": "li"}])
    flag_cases = {
        "flag-unknown-provider": {"provider": "optimizely", "feature": "x"},
        "flag-missing-feature": {"provider": "flagd", "path": "f.json"},
        "flag-flagd-without-path": {"provider": "flagd", "feature": "x"},
        "flag-url-with-credentials": {
            "provider": "unleash",
            "feature": "x",
            "url": "https://admin:pw@unleash.example",
            "tokenEnv": "T",
        },
        "flag-token-env-not-a-name": {
            "provider": "unleash",
            "feature": "x",
            "url": "https://u.example",
            "tokenEnv": "my token",
        },
        "flag-setting-of-another-provider": {
            "provider": "flagd",
            "feature": "x",
            "path": "f.json",
            "tokenEnv": "T",
        },
    }
    for name, flag in flag_cases.items():
        yield name, setter("flags", value=[flag])


def policy_cases() -> Iterator[tuple[str, Mutation]]:
    yield "missing-spec", deleter("spec")
    yield "missing-name", deleter("metadata", "name")
    yield "wrong-kind", setter("kind", value="Polcy")
    yield "wrong-api-version", setter("apiVersion", value="gate/v2")
    for label, tz in (
        ("misspelt", "Europe/Berlinn"),
        ("path", "../../etc/passwd"),
        ("empty", ""),
        ("offset", "UTC+1"),
    ):
        yield f"timezone-{label}", setter("spec", "timezone", value=tz)
    rule = ("spec", "rules", 0)
    yield "rule-unknown-kind", setter(*rule, "kind", value="feild")
    yield "rule-bad-regex", setter(*rule, "pattern", value="([a-z")
    yield "rule-regex-repeat-overflow", setter(*rule, "pattern", value="a{4294967296}")
    yield "rule-regex-huge-repeat", setter(*rule, "pattern", value="a{99999999999}")
    yield "rule-missing-field", deleter(*rule, "field")
    yield "rule-setting-of-other-kind", adder(*rule, key="minimum", value={"high": 1})
    yield "rule-duplicate-id", setter("spec", "rules", 1, "id", value="ticket")
    yield "rule-bad-enforcement", adder(*rule, key="enforcement", value="deny")
    yield "rule-risk-points-nan", adder(*rule, key="riskPoints", value=NAN)
    yield "rule-bad-clock", setter("spec", "rules", 1, "start", value="25:00")
    yield "rule-clock-as-number", setter("spec", "rules", 1, "start", value=900)
    yield "risk-threshold-string", adder("spec", key="riskThreshold", value="high")
    yield "risk-threshold-huge", adder("spec", key="riskThreshold", value=HUGE_INT)
    yield "risk-threshold-nan", adder("spec", key="riskThreshold", value=NAN)
    w = ("spec", "windows")
    yield "window-bad-type", setter(*w, 0, "type", value="block")
    yield "window-bad-day", setter(*w, 0, "days", value=["someday"])
    yield "window-two-forms", adder(*w, 0, key="cron", value="0 9 * * *")
    yield "window-bad-cron", setter(*w, 1, "cron", value="61 * * * *")
    yield "window-cron-never-fires", setter(*w, 1, "cron", value="0 0 30 2 *")
    yield "window-cron-words", setter(*w, 1, "cron", value="every friday")
    yield "window-duration-zero", setter(*w, 1, "duration", value="0s")
    yield "window-duration-huge", setter(*w, 1, "duration", value="99999999999h")
    yield "window-duration-garbage", setter(*w, 1, "duration", value="a while")
    yield "window-cron-without-duration", deleter(*w, 1, "duration")
    yield (
        "window-dates-reversed",
        setter(*w, 2, "dates", value={"start": "2027-01-02", "end": "2026-12-20"}),
    )
    yield "window-dates-year-0001", setter(*w, 2, "dates", "start", value="0001-01-01")
    yield "window-dates-year-9999", setter(*w, 2, "dates", "end", value="9999-12-31")
    yield "window-dates-garbage", setter(*w, 2, "dates", "start", value="christmas")
    yield "window-unknown-timezone", adder(*w, 0, key="timezone", value="Mars/Olympus")
    yield (
        "window-unknown-holidays",
        setter(*w, 0, value={"name": "h", "type": "deny", "holidays": {"country": "XX"}}),
    )
    yield "window-duplicate-name", setter(*w, 1, "name", value="weekend")
    c = ("spec", "checks")
    yield "check-unknown-type", setter(*c, 0, "type", value="gitlab")
    yield "check-command-without-argv", deleter(*c, 0, "argv")
    yield "check-command-empty-argv", setter(*c, 0, "argv", value=[])
    yield "check-setting-of-another-type", adder(*c, 1, key="argv", value=["x"])
    yield "check-misspelt-key", adder(*c, 1, key="minAprovals", value=2)
    yield "check-name-uppercase", setter(*c, 0, "name", value="Smoke")
    yield "check-name-newline", setter(*c, 0, "name", value="smoke\n")
    yield "check-duplicate-name", setter(*c, 1, "name", value="smoke")
    yield "check-timeout-zero", setter(*c, 0, "timeout", value="0s")
    yield "check-timeout-huge", setter(*c, 0, "timeout", value="9999999h")
    yield "check-timeout-words", setter(*c, 0, "timeout", value="soon")
    yield "check-github-repository-not-owner-name", adder(*c, 1, key="repository", value="x")
    yield "check-github-token-env-not-a-name", adder(*c, 1, key="tokenEnv", value="$TOKEN")
    yield "check-github-api-url-ftp", adder(*c, 1, key="apiUrl", value="ftp://github.example")
    yield "check-budget-objective-nan", setter(*c, 2, "objective", value=NAN)
    yield "check-budget-objective-one", setter(*c, 2, "objective", value=1)
    yield "check-budget-objective-percent", setter(*c, 2, "objective", value=99.9)
    yield "check-budget-without-window-placeholder", setter(*c, 2, "errorRatio", value="x")
    yield "check-budget-url-port-99999", setter(*c, 2, "url", value="http://127.0.0.1:99999")
    yield "check-budget-url-credentials", setter(*c, 2, "url", value="http://u:pw@127.0.0.1:9090")
    yield "check-budget-url-no-host", setter(*c, 2, "url", value="http://")
    yield "check-budget-bad-window", adder(*c, 2, key="window", value="month")
    yield "check-incidents-bad-severity", adder(*c, 3, key="minSeverity", value="P1")
    yield "check-http-json-no-condition", deleter(*c, 4, "equals")
    yield "check-http-json-bad-pointer", setter(*c, 4, "pointer", value="state")
    yield "check-http-json-max-inf", adder(*c, 4, key="max", value=INF)
    yield "check-http-json-url-space", setter(*c, 4, "url", value="https://status example")
    yield "check-vulnerabilities-bad-severity", adder(*c, 5, key="severity", value="severe")
    yield "check-migrations-glob-escapes", adder(*c, 6, key="glob", value="../../**/*.sql")
    yield "check-on-error-typo", adder(*c, 0, key="onError", value="fail-opn")
    yield "checks-not-a-list", setter(*c, value={"type": "command"})


def rollout_cases() -> Iterator[tuple[str, Mutation]]:
    for name in ("checkout\n", "../x", "Checkout", "a" * 64, "", "check out", "-x"):
        labels = {
            "checkout\n": "newline",
            "../x": "dot-dot",
            "a" * 64: "too-long",
            "": "empty",
            "check out": "space",
            "Checkout": "uppercase",
            "-x": "dash",
        }
        label = labels[name]
        yield f"name-{label}", setter("metadata", "name", value=name)
    m = ("spec", "analysis", "metrics")
    yield "metric-max-nan", setter(*m, 0, "max", value=NAN)
    yield "metric-max-inf", setter(*m, 0, "max", value=INF)
    yield "metric-max-minus-inf", setter(*m, 0, "max", value=-INF)
    yield "metric-max-string", setter(*m, 0, "max", value="5%")
    yield "metric-min-above-max", adder(*m, 0, key="min", value=0.5)
    yield "metric-no-limit", deleter(*m, 0, "max")
    yield "metric-no-query", deleter(*m, 0, "query")
    yield "metric-max-ratio-zero", setter(*m, 1, "maxRatio", value=0)
    yield "metric-max-ratio-nan", setter(*m, 1, "maxRatio", value=NAN)
    yield "metric-max-ratio-without-baseline", deleter(*m, 1, "baselineQuery")
    yield "metric-alpha-nan", adder(*m, 2, key="alpha", value=NAN)
    yield "metric-alpha-zero", adder(*m, 2, key="alpha", value=0)
    yield "metric-alpha-one", adder(*m, 2, key="alpha", value=1)
    yield "metric-sequential-missing-count", deleter(*m, 2, "baselineRequests")
    yield "metric-sequential-with-max", adder(*m, 2, key="max", value=0.1)
    yield "metric-threshold-with-counts", adder(*m, 0, key="canaryErrors", value="x")
    yield "metric-unknown-judge", adder(*m, 0, key="judge", value="bayesian")
    yield "metric-unknown-template-variable", setter(*m, 0, "query", value='x{s="{{ servce }}"}')
    yield "metric-malformed-template", setter(*m, 0, "query", value="x{{ service")
    yield "metric-template-expression", setter(*m, 0, "query", value="{{ __import__('os') }}")
    yield "metric-duplicate-name", setter(*m, 1, "name", value="error-rate")
    yield "metric-name-uppercase", setter(*m, 0, "name", value="ErrorRate")
    yield "metric-name-newline", setter(*m, 0, "name", value="error-rate\n")
    yield "metric-bad-on-no-data", adder(*m, 0, key="onNoData", value="ignore")
    yield "metric-bad-aggregate", adder(*m, 0, key="aggregate", value="median")
    yield (
        "metric-latency-without-threshold",
        setter(
            *m,
            2,
            value={
                "name": "slow",
                "judge": "sequential-latency",
                "canaryHistogram": "c",
                "baselineHistogram": "b",
            },
        ),
    )
    yield (
        "metric-latency-threshold-nan",
        setter(
            *m,
            2,
            value={
                "name": "slow",
                "judge": "sequential-latency",
                "canaryHistogram": "c",
                "baselineHistogram": "b",
                "threshold": NAN,
            },
        ),
    )
    yield "metrics-empty", setter(*m, value=[])
    a = ("spec", "analysis")
    yield "interval-zero", setter(*a, "interval", value="0s")
    yield "interval-10ms", setter(*a, "interval", value="10ms")
    yield "interval-huge", setter(*a, "interval", value="100000h")
    yield "interval-words", setter(*a, "interval", value="often")
    yield "failure-limit-negative", adder(*a, key="failureLimit", value=-1)
    yield "failure-limit-huge", adder(*a, key="failureLimit", value=HUGE_INT)
    yield "failure-limit-float", adder(*a, key="failureLimit", value=1.5)
    yield "on-inconclusive-typo", adder(*a, key="onInconclusive", value="pasue")
    yield "pause-timeout-zero", adder(*a, key="pauseTimeout", value="0s")
    s = ("spec", "stages")
    yield "stage-weight-101", setter(*s, 1, "weight", value=101)
    yield "stage-weight-negative", setter(*s, 0, "weight", value=-1)
    yield "stage-weight-float", setter(*s, 0, "weight", value=1.5)
    yield "stage-weights-go-down", setter(*s, 1, "weight", value=0)
    yield "stage-last-not-100", setter(*s, 2, "weight", value=99)
    yield "stage-duration-zero", setter(*s, 0, "duration", value="0s")
    yield "stage-duration-huge", setter(*s, 0, "duration", value="99999999999h")
    yield "stage-shorter-than-interval", setter(*s, 0, "duration", value="10s")
    yield "stage-timeout-and-duration", adder(*s, 0, key="timeout", value="1h")
    yield "stage-error-threshold-nan", adder(*s, 0, key="errorThreshold", value=NAN)
    yield "stage-error-threshold-negative", adder(*s, 0, key="errorThreshold", value=-1)
    yield "stages-empty", setter(*s, value=[])
    t = ("spec", "traffic")
    yield "traffic-unknown-provider", setter(*t, "provider", value="envoy")
    yield "traffic-haproxy-missing-backend", deleter(*t, "backend")
    yield "traffic-haproxy-socket-and-address", adder(*t, key="address", value="127.0.0.1:9999")
    yield (
        "traffic-haproxy-address-port-99999",
        setter(
            *t,
            value={
                "provider": "haproxy",
                "address": "127.0.0.1:99999",
                "backend": "app",
                "stable": "stable",
                "canary": "canary",
            },
        ),
    )
    yield "traffic-haproxy-name-injection", setter(*t, "backend", value="app; shutdown")
    yield "traffic-haproxy-same-servers", setter(*t, "canary", value="stable")
    yield "traffic-haproxy-timeout-zero", adder(*t, key="timeout", value="0s")
    yield "traffic-setting-of-another-provider", adder(*t, key="url", value="https://x.example")
    yield "traffic-command-empty", setter(*t, value={"provider": "command", "set": []})
    yield (
        "traffic-command-unknown-placeholder",
        setter(*t, value={"provider": "command", "set": ["kubectl", "{{ wieght }}"]}),
    )
    yield (
        "traffic-webhook-credentials",
        setter(*t, value={"provider": "webhook", "url": "https://user:secret@router.example/set"}),
    )
    yield (
        "traffic-webhook-ftp",
        setter(*t, value={"provider": "webhook", "url": "ftp://router.example"}),
    )
    yield (
        "traffic-webhook-bad-pointer",
        setter(
            *t, value={"provider": "webhook", "url": "https://r.example", "readPointer": "weight"}
        ),
    )
    yield (
        "traffic-webhook-header-env-not-a-name",
        setter(
            *t,
            value={
                "provider": "webhook",
                "url": "https://r.example",
                "headersEnv": {"Authorization": "my token"},
            },
        ),
    )
    p = ("spec", "metrics")
    yield "metrics-url-port-99999", setter(*p, "url", value="http://127.0.0.1:99999")
    yield "metrics-url-port-zero", setter(*p, "url", value="http://127.0.0.1:0")
    yield "metrics-url-missing", deleter(*p, "url")
    yield "metrics-url-credentials", setter(*p, "url", value="https://u:p@prom.example")
    yield "metrics-timeout-zero", adder(*p, key="timeout", value="0s")
    yield "metrics-unknown-provider", setter(*p, "provider", value="datadog")
    f = ("spec", "onFailure", "flags")
    yield "flag-unleash-without-url", deleter(*f, 0, "url")
    yield "flag-unleash-without-token", deleter(*f, 0, "tokenEnv")
    yield "flag-flagd-with-token", adder(*f, 1, key="tokenEnv", value="T")
    yield "flag-unknown-provider", setter(*f, 1, "provider", value="split")
    yield "flag-empty-feature", setter(*f, 1, "feature", value="")
    yield (
        "flag-launchdarkly-url-credentials",
        setter(
            *f,
            0,
            value={
                "provider": "launchdarkly",
                "feature": "x",
                "tokenEnv": "LD",
                "url": "https://k:v@app.launchdarkly.com",
            },
        ),
    )
    n = ("spec", "notifications")
    yield "notify-slack-without-url-env", setter(*n, 0, value={"provider": "slack"})
    yield (
        "notify-unknown-event",
        setter(*n, 0, value={"provider": "slack", "urlEnv": "S", "events": ["exploded"]}),
    )
    yield (
        "notify-webhook-without-url",
        setter(*n, 0, value={"provider": "webhook", "secretEnv": "S"}),
    )
    yield (
        "notify-webhook-without-secret",
        setter(*n, 0, value={"provider": "webhook", "url": "https://h.example"}),
    )
    yield (
        "notify-pagerduty-with-url-env",
        setter(*n, 0, value={"provider": "pagerduty", "routingKeyEnv": "K", "urlEnv": "U"}),
    )
    h = ("spec", "hooks", "pre-rollout")
    yield "hook-command-and-url", adder(*h, 0, key="url", value="https://h.example")
    yield "hook-neither", setter(*h, 0, value={"name": "nothing"})
    yield "hook-method-on-command", adder(*h, 0, key="method", value="POST")
    yield "hook-timeout-zero", adder(*h, 0, key="timeout", value="0s")
    yield "hook-unknown-kind", setter("spec", "hooks", value={"pre-deploy": []})
    yield "hook-name-newline", setter(*h, 0, "name", value="smoke\n")


RAW = {
    "syntax-error.yaml": "id: CHG-1\ntitle: [unclosed\n",
    "tab-indent.yaml": "id: CHG-1\n\ttitle: x\n",
    "duplicate-key.yaml": "id: CHG-1\nid: CHG-2\n",
    "empty.yaml": "",
    "only-comment.yaml": "# nothing here\n",
    "top-level-list.yaml": "- id: CHG-1\n",
    "top-level-scalar.yaml": "just words\n",
    "alias-bomb.yaml": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ),
    "recursive-alias.yaml": "a: &a [*a]\n",
    "deep-nesting.yaml": "a: " + "[" * 300 + "]" * 300 + "\n",
    "control-characters.yaml": 'id: CHG-1\ntitle: "bell \\a and escape \\e"\n',
    "json-syntax.json": '{"id": "CHG-1", "title": }',
    "json-trailing-comma.json": '{"id": "CHG-1",}',
    "huge-integer-key.yaml": f"{'9' * 5000}: x\n",
    "complex-key.yaml": "? [a, b]\n: c\n",
    "python-tag.yaml": "id: !!python/object/apply:os.system ['true']\n",
    "binary-tag.yaml": "id: !!binary aGVsbG8=\n",
    "set-tag.yaml": "id: !!set {a, b}\n",
    "custom-tag-on-list.yaml": "id: CHG-1\nlinks: !custom [a]\n",
    "omap-tag.yaml": "id: !!omap [{a: 1}]\n",
    "bom-then-garbage.yaml": "\ufeff{{{\n",
    "nul-in-text.yaml": "id: CHG-1\x00\n",
    "nul-escape.yaml": 'id: "CHG-1\\0"\n',
    "lone-surrogate.json": '{"id": "CHG-1",\n "title": "half a pair \\udcff"}',
    "lone-surrogate-key.yaml": '"\\ud83d": x\n',
}


def write_cases(kind: str, base: Doc, cases: Iterator[tuple[str, Mutation]]) -> list[Path]:
    out = []
    directory = HERE / kind
    for name, mutate in cases:
        doc = copy.deepcopy(base)
        mutate(doc)
        path = directory / f"{name}.yaml"
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=False)
        path.write_text(text.replace(HUGE_INT, "9" * 5000), "utf-8")
        out.append(path)
    return out


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from gate.cli import main as gate

    for kind in ("change", "policy", "rollout", "raw"):
        shutil.rmtree(HERE / kind, ignore_errors=True)
        (HERE / kind).mkdir()
    files = write_cases("change", CHANGE, change_cases())
    files += write_cases("policy", POLICY, policy_cases())
    files += write_cases("rollout", ROLLOUT, rollout_cases())
    for name, text in RAW.items():
        path = HERE / "raw" / name
        path.write_bytes(text.encode("utf-8"))
        files.append(path)
    valid = [p for p in files if gate(["validate", str(p)]) != 2]
    if valid:
        print("these corpus files are not refused by gate validate:", file=sys.stderr)
        for p in valid:
            print(f"  {p.relative_to(ROOT)}", file=sys.stderr)
        return 1
    print(f"{len(files)} files, every one refused by gate validate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
