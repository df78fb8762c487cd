"""Bearer auth, size and time limits, JSON errors and the server's own metrics, in-process."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from tests.serve.conftest import REPO, TOKEN, AppClient, MakeClient

PASS = (REPO / "examples/change-pass.yaml").read_bytes()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        f"Basic {TOKEN}",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        "Bearer wrong",
    ],
)
def test_requests_without_the_right_token_are_401(
    make_client: MakeClient, header: str | None
) -> None:
    client = make_client()
    headers = {"Authorization": header} if header is not None else {}
    client.client.headers.pop("Authorization")
    r = client.post("/v1/check", content=PASS, headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="gate"'
    assert r.json() == {"error": "missing or wrong bearer token"}
    assert TOKEN not in r.text


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_right_token_passes_whatever_the_scheme_s_case(
    make_client: MakeClient, scheme: str
) -> None:
    client = make_client()
    r = client.post("/v1/check", content=PASS, headers={"Authorization": f"{scheme} {TOKEN}"})
    assert r.status_code == 200


def test_healthz_is_open_and_metrics_are_not(make_client: MakeClient) -> None:
    client = make_client()
    client.client.headers.pop("Authorization")
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/metrics").status_code == 401
    assert client.get("/v1/check").status_code == 401  # auth comes before routing


def test_insecure_no_auth_lets_everything_through(make_client: MakeClient) -> None:
    client = make_client(token=None, auth=False)
    assert client.post("/v1/check", content=PASS).status_code == 200
    assert client.get("/metrics").status_code == 200


def test_body_over_the_limit_is_413_before_it_is_read(make_client: MakeClient) -> None:
    client = make_client(max_body_bytes=2048)
    big = b"#" * 2049
    r = client.post("/v1/check", content=big)
    assert r.status_code == 413
    assert r.json()["error"] == "<request>: body is 2049 bytes, more than 2048"
    assert client.post("/v1/check", content=PASS).status_code == 200  # PASS is < 2 KiB


def test_streamed_body_over_the_limit_is_413(make_client: MakeClient) -> None:
    """No Content-Length (chunked): counted while it arrives."""
    client = make_client(max_body_bytes=2048)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"#" * 512

    r = client.post("/v1/check", content=chunks())
    assert r.status_code == 413
    assert r.json()["error"] == "<request>: body is more than 2048 bytes"


def test_a_request_past_the_time_limit_is_504(make_client: MakeClient, tmp_path: Path) -> None:
    """A live check that takes 20 s under a 1 s server limit: answered 504 after about 1 s."""
    policy = tmp_path / "slow.yaml"
    policy.write_text(
        json.dumps(
            {
                "apiVersion": "gate/v1",
                "kind": "Policy",
                "metadata": {"name": "slow"},
                "spec": {
                    "checks": [
                        {
                            "type": "command",
                            "name": "slow",
                            "argv": [sys.executable, "-c", "import time; time.sleep(3)"],
                            "timeout": "20s",
                        }
                    ]
                },
            }
        )
    )
    client = make_client(policies=(str(policy),), timeout=1.0)
    began = time.monotonic()
    r = client.post("/v1/check", content=PASS)
    took = time.monotonic() - began
    assert r.status_code == 504
    assert r.json()["error"] == "no answer within the time limit of 1s"
    assert 0.9 < took < 2.5
    assert client.get("/healthz").status_code == 200  # the server goes on


def test_unknown_paths_and_methods_answer_json(make_client: MakeClient) -> None:
    client = make_client()
    r = client.get("/v2/nothing")
    assert (r.status_code, r.json()) == (404, {"error": "Not Found"})
    r = client.get("/v1/check")
    assert (r.status_code, r.json()) == (405, {"error": "Method Not Allowed"})
    assert "POST" in r.headers["allow"]


def test_every_answer_has_a_request_id(make_client: MakeClient) -> None:
    client = make_client()
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


def test_metrics_count_requests_and_decisions(make_client: MakeClient) -> None:
    client = make_client()
    for name in ("pass", "pass", "block"):
        client.post("/v1/check", content=(REPO / f"examples/change-{name}.yaml").read_bytes())
    client.post("/v1/check", content=b"[")
    text = client.get("/metrics").text
    assert 'gate_serve_requests_total{code="200",route="/v1/check"} 2.0' in text
    assert 'gate_serve_requests_total{code="403",route="/v1/check"} 1.0' in text
    assert 'gate_serve_requests_total{code="400",route="/v1/check"} 1.0' in text
    assert 'gate_serve_outcomes_total{outcome="allow",route="/v1/check"} 2.0' in text
    assert 'gate_serve_outcomes_total{outcome="block",route="/v1/check"} 1.0' in text
    assert 'gate_serve_request_duration_seconds_count{route="/v1/check"} 4.0' in text


def test_200_concurrent_checks_all_answered(make_client: MakeClient) -> None:
    client: AppClient = make_client()
    bodies = {
        name: (REPO / f"examples/change-{name}.yaml").read_bytes()
        for name in ("pass", "warn", "block")
    }
    want = {"pass": (200, "allow"), "warn": (200, "warn"), "block": (403, "block")}
    got: list[tuple[str, int, str]] = []

    async def one(name: str) -> None:
        r = await client.client.post("/v1/check", content=bodies[name])
        got.append((name, r.status_code, r.json()["decision"]))

    async def all_of_them() -> None:
        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(one, ("pass", "warn", "block")[i % 3])

    client.call(all_of_them)
    assert len(got) == 200
    assert all((status, decision) == want[name] for name, status, decision in got)


def test_a_bug_is_a_500_without_details_and_the_server_goes_on(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A metrics provider that breaks in an unexpected way (a bug, not a ProviderError)."""

    class Broken:
        name = "broken"

        def query_range(self, *args: object) -> object:
            raise KeyError("secret-looking detail")

        def close(self) -> None:
            pass

    client = make_client(metrics=Broken())
    body = {
        "canaryErrors": "a",
        "canaryRequests": "b",
        "baselineErrors": "c",
        "baselineRequests": "d",
    }
    r = client.post("/v1/judge", json=body)
    assert r.status_code == 500
    assert r.json() == {"error": "internal error; see the server log"}
    assert "secret-looking" not in r.text
    assert any(rec.getMessage() == "internal error" and rec.exc_info for rec in caplog.records)
    assert client.get("/healthz").status_code == 200
