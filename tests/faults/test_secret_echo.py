"""Servers that echo the credentials they were sent, in 401 and 500 bodies: the secrets never
reach stdout, stderr, the journal, the audit log, a crash file or a notification's body.

The metrics source and the kill switch both echo (the header and the credential in it, plain,
Base64 and URL-encoded); Slack, PagerDuty and the signed webhook receive at a local server in
the shapes their APIs take, and every body they receive is searched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults import harness
from tests.faults.server import Answer, FaultServer, Request, credential_forms
from tests.faults.test_kill_switches import TOKEN as FLAG_TOKEN
from tests.faults.test_kill_switches import fake_unleash
from tests.integration.stack import Stack

pytestmark = pytest.mark.integration

PROM_TOKEN = "prom-Zx9/q+Ww==tok3n-0042"
SLACK_PATH = "/services/T0GATE/B0GATE/xoxbS3cr3tP4th"
PD_KEY = "R0UT1NGk3y0123456789abcdef0123"
HOOK_SECRET = "whsec_s1gn1ng-s3cret-0099"


def forms(secret: str) -> list[str]:
    out = credential_forms(secret)
    return [f for f in out if len(f) >= 8]


@pytest.fixture
def receiver() -> Iterator[FaultServer]:
    """Slack, PagerDuty and the webhook notifier's receiver: 200 to everything, all kept."""

    def accept(request: Request) -> Answer:
        return Answer(202 if request.path == "/v2/enqueue" else 200, b'{"status": "ok"}')

    with FaultServer(accept, max_seconds=30) as server:
        yield server


@pytest.mark.parametrize(
    ("metrics_echo", "flag_echo"), [("echo-500", None), ("echo-401", "echo-500")]
)
def test_echoed_secrets_never_leave(
    stack: Stack,
    prometheus: FaultServer,
    receiver: FaultServer,
    weights: harness.Weights,
    state: Path,
    tmp_path: Path,
    metrics_echo: str,
    flag_echo: str | None,
) -> None:
    enabled = {"new-checkout": True}
    with FaultServer(fake_unleash(enabled), max_seconds=30) as flags:
        prometheus.set("normal", after=1, then=metrics_echo)
        if flag_echo is not None:
            flags.set("normal", after=1, then=flag_echo)  # the preflight probe is answered
        data = harness.spec(
            stack,
            prometheus.url,
            consecutive_error_limit=1,
            headers_env={"Authorization": "PROM_AUTH"},
            flags=[
                {
                    "provider": "unleash",
                    "url": flags.url,
                    "feature": "new-checkout",
                    "tokenEnv": "FLAG_TOKEN",
                }
            ],
            notifications=[
                {"provider": "slack", "urlEnv": "SLACK_URL"},
                {
                    "provider": "pagerduty",
                    "routingKeyEnv": "PD_KEY",
                    "url": receiver.url + "/v2/enqueue",
                },
                {"provider": "webhook", "url": receiver.url + "/gate", "secretEnv": "HOOK_SECRET"},
            ],
        )
        spec = harness.write(tmp_path / "rollout.yaml", data)
        secrets = {
            "PROM_AUTH": f"Bearer {PROM_TOKEN}",
            "FLAG_TOKEN": FLAG_TOKEN,
            "SLACK_URL": receiver.url + SLACK_PATH,
            "PD_KEY": PD_KEY,
            "HOOK_SECRET": HOOK_SECRET,
        }
        result = harness.gate(state, "rollout", str(spec), extra_env=secrets, timeout=90)
        echoed = [
            r for r in [*prometheus.requests, *flags.requests] if "authorization" in r.headers
        ]
    output = result.stdout + result.stderr
    assert result.returncode == (4 if flag_echo else 1), output
    assert harness.weights(stack) == {"canary": 0, "stable": 100}
    assert "***" in output  # the echoes were there, and were taken out
    assert {r.headers["authorization"] for r in echoed} >= {f"Bearer {PROM_TOKEN}", FLAG_TOKEN}

    places: dict[str, str] = {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "state.json": (state / harness.NAME / "state.json").read_text(),
        "audit.jsonl": (state / harness.NAME / "audit.jsonl").read_text(),
    }
    crash = state.parent / "crash"
    for path in crash.glob("*") if crash.exists() else []:
        places[path.name] = path.read_text()
    kinds = set()
    for i, request in enumerate(receiver.requests):
        body = request.body.decode()
        if request.path == "/v2/enqueue":
            # PagerDuty's routing key is the request itself; nothing else may ride along
            body = body.replace(json.dumps(PD_KEY), '"<routing key>"')
            kinds.add("pagerduty")
        elif request.path == SLACK_PATH:
            kinds.add("slack")
        else:
            kinds.add("webhook")
        places[f"notification {i} to {request.path}"] = body
    assert kinds == {"slack", "pagerduty", "webhook"}
    notified = [b for k, b in places.items() if k.startswith("notification")]
    assert any("rolled back" in b or "ROLLBACK FAILED" in b for b in notified)
    if metrics_echo == "echo-500":
        assert any("***" in b for b in notified)  # the echo reached the notifiers, redacted

    secret_forms = [
        *forms(f"Bearer {PROM_TOKEN}"),
        *forms(FLAG_TOKEN),
        *forms(SLACK_PATH.rsplit("/", 1)[1]),
        *forms(PD_KEY),
        *forms(HOOK_SECRET),
    ]
    leaks = [
        (where, form) for where, text in places.items() for form in secret_forms if form in text
    ]
    assert leaks == []


def test_a_crash_carrying_an_echoed_secret_saves_no_trace_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Should a bug ever let an echo reach an unexpected exception, neither the short message
    nor the saved traceback (with its chained causes) carries the secret."""
    from gate.cli.errors import run_guarded
    from gate.secrets import SecretRef, reveal

    monkeypatch.setenv("PROM_AUTH", f"Bearer {PROM_TOKEN}")
    monkeypatch.setenv("GATE_CRASH_DIR", str(tmp_path / "crash"))
    header = reveal(SecretRef("PROM_AUTH"))

    def crash() -> int:
        try:
            raise ValueError("answer: " + " | ".join(credential_forms(header)))
        except ValueError as exc:
            raise RuntimeError(f"could not use {exc}") from exc

    assert run_guarded(crash) == 3
    err = capsys.readouterr().err
    [saved] = (tmp_path / "crash").glob("gate-crash-*.log")
    text = saved.read_text()
    assert "RuntimeError: could not use answer: ***" in text
    assert "ValueError" in text  # the cause is kept, redacted too
    leaks = [f for f in forms(header) for where in (err, text) if f in where]
    assert leaks == []
