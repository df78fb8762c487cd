"""Flagger webhooks in-process: Flagger's payload, and for each hook the status Flagger acts on.

Payload and meanings from fluxcd/flagger: ``CanaryWebhookPayload`` in
``pkg/apis/flagger/v1beta1/canary.go`` (name, namespace, phase, checksum, metadata of strings)
and ``docs/gitbook/usage/webhooks.md``; Flagger takes 200-202 as yes and anything else as no
(``callWebhook`` in ``pkg/controller/webhook.go``: ``r.StatusCode > 202`` is an error).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from gate.errors import ProviderUnavailable
from tests.serve.conftest import REPO, TOKEN, MakeClient
from tests.serve.fakes import RangeMetrics, RecordedRollbacks

STEP = 60.0
Q = {
    "canaryErrors": "canary_errors",
    "canaryRequests": "canary_requests",
    "baselineErrors": "baseline_errors",
    "baselineRequests": "baseline_requests",
}


def metrics(canary_rate: float | None, baseline_rate: float = 0.01) -> RangeMetrics:
    """Per 1-minute step: 1,000 canary and 9,000 baseline requests at these error rates
    (``canary_rate=None``: no data at all)."""
    if canary_rate is None:

        def nothing(t: float) -> float | None:
            return None

        return RangeMetrics(dict.fromkeys(Q.values(), nothing))
    per_step = {
        "canary_requests": 1000.0,
        "canary_errors": 1000.0 * canary_rate,
        "baseline_requests": 9000.0,
        "baseline_errors": 9000.0 * baseline_rate,
    }
    return RangeMetrics({q: functools.partial(constant, v) for q, v in per_step.items()})


def constant(value: float, t: float) -> float | None:
    return value


def payload(phase: str = "Progressing", **metadata: str) -> dict[str, Any]:
    """Flagger's webhook body, as ``CallWebhook`` builds it."""
    return {
        "name": "podinfo",
        "namespace": "test",
        "phase": phase,
        "checksum": "85d557f47b",
        "metadata": metadata,
    }


JUDGE = {**Q, "last": "30m", "step": "1m"}
CHANGE = (REPO / "examples/change-pass.yaml").read_text()
BLOCKED = (REPO / "examples/change-block.yaml").read_text()


@pytest.mark.parametrize("hook", ["confirm-rollout", "pre-rollout"])
def test_policy_hooks_proceed_when_the_change_is_allowed(
    make_client: MakeClient, hook: str
) -> None:
    r = make_client().post(f"/v1/flagger/{hook}", json=payload(change=CHANGE))
    assert r.status_code == 200
    body = r.json()
    assert (body["hook"], body["canary"], body["answer"]) == (hook, "test/podinfo", "proceed")
    assert body["check"]["decision"] == "allow"


@pytest.mark.parametrize("hook", ["confirm-rollout", "pre-rollout"])
def test_policy_hooks_hold_a_blocked_change(make_client: MakeClient, hook: str) -> None:
    r = make_client().post(f"/v1/flagger/{hook}", json=payload(change=BLOCKED))
    assert r.status_code == 403
    body = r.json()
    assert body["answer"] == "hold"
    assert body["reason"].startswith("block: rollback-plan: rollbackPlan has 10 characters")
    assert body["check"]["decision"] == "block"


def test_policy_hook_environment_comes_from_metadata(make_client: MakeClient) -> None:
    client = make_client(policies=("examples/policies/windows.yaml",))
    change = (REPO / "examples/change-request.yaml").read_text()
    plain = client.post("/v1/flagger/confirm-rollout", json=payload(change=change)).json()
    prod = client.post(
        "/v1/flagger/confirm-rollout", json=payload(change=change, environment="production")
    ).json()
    assert "release-windows" not in plain["check"]["policies"]
    assert "release-windows" in prod["check"]["policies"]


def test_policy_hook_without_a_change_request_fails_closed(make_client: MakeClient) -> None:
    r = make_client().post("/v1/flagger/confirm-rollout", json=payload())
    assert r.status_code == 422
    assert r.json()["error"] == (
        "<request>:1: metadata: needs 'change': the change request, as JSON or YAML text"
    )


def test_a_broken_change_request_in_metadata_is_located_in_it(make_client: MakeClient) -> None:
    broken = CHANGE.replace("riskLevel: low", "riskLevel: lowest")
    assert broken != CHANGE
    line = 1 + CHANGE.splitlines().index("riskLevel: low")
    r = make_client().post("/v1/flagger/confirm-rollout", json=payload(change=broken))
    assert r.status_code == 422
    assert r.json()["error"].startswith(f"metadata.change:{line}: riskLevel: 'lowest' is not one")


def test_rollout_hook_fails_a_five_times_worse_canary(make_client: MakeClient) -> None:
    r = make_client(metrics=metrics(0.05)).post("/v1/flagger/rollout", json=payload(**JUDGE))
    assert r.status_code == 403
    body = r.json()
    assert body["answer"] == "hold"
    assert body["judge"]["verdict"] == "fail"


def test_rollout_hook_passes_an_equal_canary(make_client: MakeClient) -> None:
    r = make_client(metrics=metrics(0.01)).post("/v1/flagger/rollout", json=payload(**JUDGE))
    assert r.status_code == 200
    assert r.json()["answer"] == "proceed"


@pytest.mark.parametrize("hook", ["confirm-traffic-increase", "confirm-promotion"])
def test_confirm_hooks_hold_without_data(make_client: MakeClient, hook: str) -> None:
    r = make_client(metrics=metrics(None)).post(f"/v1/flagger/{hook}", json=payload(**JUDGE))
    assert r.status_code == 403
    assert r.json()["answer"] == "hold"


@pytest.mark.parametrize("hook", ["confirm-traffic-increase", "confirm-promotion"])
def test_confirm_hooks_proceed_once_the_canary_is_proven_within_tolerance(
    make_client: MakeClient, hook: str
) -> None:
    client = make_client(metrics=metrics(0.01))
    early = client.post(f"/v1/flagger/{hook}", json=payload(**{**JUDGE, "last": "3m"}))
    assert (early.status_code, early.json()["judge"]["verdict"]) == (403, "inconclusive")
    assert early.json()["reason"].startswith("holding: inconclusive: ")
    r = client.post(f"/v1/flagger/{hook}", json=payload(**JUDGE))
    assert (r.status_code, r.json()["answer"]) == (200, "proceed")
    assert r.json()["judge"]["ratio"]["upper"] <= 1.5


@pytest.mark.parametrize("hook", ["confirm-traffic-increase", "confirm-promotion"])
def test_confirm_hooks_hold_a_failing_canary(make_client: MakeClient, hook: str) -> None:
    r = make_client(metrics=metrics(0.05)).post(f"/v1/flagger/{hook}", json=payload(**JUDGE))
    assert r.status_code == 403
    assert r.json()["judge"]["verdict"] == "fail"


def test_rollback_hook_rolls_back_a_failing_canary(make_client: MakeClient) -> None:
    r = make_client(metrics=metrics(0.05)).post("/v1/flagger/rollback", json=payload(**JUDGE))
    assert r.status_code == 200
    assert r.json()["answer"] == "rollback"


def test_rollback_hook_leaves_a_good_canary_alone(make_client: MakeClient) -> None:
    r = make_client(metrics=metrics(0.01)).post("/v1/flagger/rollback", json=payload(**JUDGE))
    assert r.status_code == 403
    assert r.json()["answer"] == "no-rollback"


def test_rollback_hook_honours_a_recorded_rollback_request(make_client: MakeClient) -> None:
    rollbacks = RecordedRollbacks({"test/podinfo": "gate abort by lee: checkout errors"})
    client = make_client(rollbacks=rollbacks)
    r = client.post("/v1/flagger/rollback", json=payload())
    assert (r.status_code, r.json()["answer"]) == (200, "rollback")
    assert r.json()["reason"] == "rollback requested: gate abort by lee: checkout errors"
    other = dict(payload(), name="other")
    r = client.post("/v1/flagger/rollback", json=other)
    assert (r.status_code, r.json()["reason"]) == (403, "no rollback requested")


def test_rollback_hook_does_not_roll_back_when_prometheus_is_down(make_client: MakeClient) -> None:
    down = RangeMetrics({}, error=ProviderUnavailable("cannot connect", provider="prometheus"))
    r = make_client(metrics=down).post("/v1/flagger/rollback", json=payload(**JUDGE))
    assert r.status_code == 502  # not 2xx: Flagger does not roll back on gate's account
    assert r.json()["error"] == "prometheus: cannot connect"


def flag_setup(tmp_path: Path) -> tuple[Path, Path]:
    flags = tmp_path / "flags.json"
    flags.write_text(
        json.dumps(
            {
                "flags": {
                    "new-checkout": {
                        "state": "ENABLED",
                        "variants": {"on": True, "off": False},
                        "defaultVariant": "on",
                    }
                }
            }
        )
    )
    config = tmp_path / "kill-switches.yaml"
    config.write_text(
        "canaries:\n"
        "  test/podinfo:\n"
        f"    - {{provider: flagd, path: {json.dumps(str(flags))}, feature: new-checkout}}\n"
    )
    return flags, config


def default_variant(flags: Path) -> str:
    return str(json.loads(flags.read_text())["flags"]["new-checkout"]["defaultVariant"])


@pytest.mark.parametrize("hook", ["post-rollout", "event"])
def test_kill_switches_turn_off_when_the_canary_failed(
    make_client: MakeClient, tmp_path: Path, hook: str
) -> None:
    flags, config = flag_setup(tmp_path)
    client = make_client(kill_switches=str(config))
    body = payload("Failed", eventMessage="Canary failed! Scaling down podinfo.test")
    r = client.post(f"/v1/flagger/{hook}", json=body)
    assert r.status_code == 200
    assert r.json()["flags"] == [{"flag": "flagd:default/new-checkout@production", "off": True,
                                  "detail": ""}]  # fmt: skip
    assert default_variant(flags) == "off"
    assert client.post(f"/v1/flagger/{hook}", json=body).status_code == 200  # idempotent


@pytest.mark.parametrize("phase", ["Progressing", "Succeeded", "Promoting", "Waiting", ""])
@pytest.mark.parametrize("hook", ["post-rollout", "event"])
def test_kill_switches_stay_on_unless_the_canary_failed(
    make_client: MakeClient, tmp_path: Path, hook: str, phase: str
) -> None:
    flags, config = flag_setup(tmp_path)
    r = make_client(kill_switches=str(config)).post(f"/v1/flagger/{hook}", json=payload(phase))
    assert (r.status_code, r.json()["answer"]) == (200, "done")
    assert default_variant(flags) == "on"


def test_a_canary_without_kill_switches_is_done(make_client: MakeClient, tmp_path: Path) -> None:
    flags, config = flag_setup(tmp_path)
    body = dict(payload("Failed"), name="other")
    r = make_client(kill_switches=str(config)).post("/v1/flagger/post-rollout", json=body)
    assert (r.status_code, r.json()["reason"]) == (
        200,
        "no kill switches configured for test/other",
    )
    assert default_variant(flags) == "on"


def test_a_kill_switch_that_cannot_be_turned_off_is_502(
    make_client: MakeClient, tmp_path: Path
) -> None:
    flags, config = flag_setup(tmp_path)
    client = make_client(kill_switches=str(config))
    flags.unlink()
    r = client.post("/v1/flagger/event", json=payload("Failed"))
    assert r.status_code == 502
    assert r.json()["reason"].startswith("still on: flagd:default/new-checkout@production (")


def test_unknown_hook_is_404(make_client: MakeClient) -> None:
    r = make_client().post("/v1/flagger/pre-promotion", json=payload())
    assert r.status_code == 404
    assert r.json()["error"].startswith("unknown Flagger hook 'pre-promotion'; one of: confirm-")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[]", "<request>:1: expected Flagger's webhook payload (a mapping)"),
        (b'{"namespace": "test"}', "<request>:1: name: required: a non-empty string"),
        (
            b'{"name": "p",\n"namespace": ""}',
            "<request>:2: namespace: required: a non-empty string",
        ),
        (
            b'{"name": "p", "namespace": "t",\n "metadata": {"alpha": 0.01}}',
            "<request>:2: metadata.alpha: expected a string (Flagger metadata is strings)",
        ),
        (b'{"name": "p", "namespace": "t", "metadata": []}', "<request>:1: metadata: expected a"),
    ],
)
def test_malformed_payloads_are_422(make_client: MakeClient, body: bytes, message: str) -> None:
    r = make_client().post("/v1/flagger/rollout", content=body)
    assert r.status_code == 422
    assert r.json()["error"].startswith(message)


def test_judge_hook_metadata_mistakes_are_located(make_client: MakeClient) -> None:
    bad = {**JUDGE, "alpha": "often", "step": "1 minute"}
    del bad["canaryErrors"]
    r = make_client(metrics=metrics(0.01)).post("/v1/flagger/rollout", json=payload(**bad))
    assert r.status_code == 422
    assert r.json()["errors"] == [
        "<request>:1: metadata.canaryErrors: required field is missing",
        "<request>:1: metadata.step: '1 minute' is not a duration such as 500ms, 30s, 5m or 1h30m",
        "<request>:1: metadata.alpha: expected a number, got 'often'",
    ]


def test_flagger_sends_the_token_in_metadata_as_it_cannot_send_headers(
    make_client: MakeClient,
) -> None:
    """Flagger's webhook spec has no headers (``CanaryWebhook`` in canary.go; the docs' payload
    example carries ``metadata.token``)."""
    client = make_client()
    client.client.headers.pop("Authorization")
    with_token = payload(change=CHANGE, token=TOKEN)
    assert client.post("/v1/flagger/confirm-rollout", json=with_token).status_code == 200
    for bad in (payload(change=CHANGE), payload(change=CHANGE, token=TOKEN + "x")):
        r = client.post("/v1/flagger/confirm-rollout", json=bad)
        assert (r.status_code, r.json()["error"]) == (
            401,
            "missing or wrong token in metadata.token",
        )
    # only the Flagger routes take the token from the body
    r = client.post("/v1/judge", json={"metadata": {"token": TOKEN}})
    assert r.status_code == 401


def test_a_separate_flagger_token(make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATE_SERVE_FLAGGER_TOKEN", "flagger-only-token")
    from gate.serve.app import create_app
    from gate.serve.service import Service
    from gate.serve.settings import ServeSettings
    from tests.serve.conftest import AppClient

    settings = ServeSettings()
    client = AppClient(
        create_app(Service.load(settings), token=TOKEN, flagger_token=settings.flagger_token()),
        {},
    )
    try:
        ok = client.post(
            "/v1/flagger/confirm-rollout", json=payload(change=CHANGE, token="flagger-only-token")
        )
        assert ok.status_code == 200
        main = client.post("/v1/flagger/confirm-rollout", json=payload(change=CHANGE, token=TOKEN))
        assert main.status_code == 401
        header = client.post(
            "/v1/flagger/confirm-rollout",
            json=payload(change=CHANGE),
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert header.status_code == 200
        assert (
            client.post(
                "/v1/check", content=CHANGE, headers={"Authorization": "Bearer flagger-only-token"}
            ).status_code
            == 401
        )
    finally:
        client.close()


def test_a_judge_query_whose_window_is_not_the_step_is_located_in_metadata(
    make_client: MakeClient,
) -> None:
    fake = metrics(0.01)
    body = payload(**{**JUDGE, "canaryErrors": "sum(increase(errors[5m]))"})
    r = make_client(metrics=fake).post("/v1/flagger/rollout", json=body)
    assert r.status_code == 422
    assert r.json()["error"].startswith(
        "<request>:1: metadata.canaryErrors: the range [5m] is not the step (60s)"
    )
    assert fake.calls == []
