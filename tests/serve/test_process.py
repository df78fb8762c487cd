"""``gate serve`` as a real process on 127.0.0.1 and a free port: start-up refusals, the same
answers as ``gate check``, 200 concurrent requests, limits on the wire, logs, shutdown."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Result
from tests.serve.process import REPO, ServerProcess
from tests.serve.test_check import EXAMPLES, STATUS, cli_report, without_times

pytestmark = pytest.mark.integration

TOKEN = "process-test-token-7f3a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server with two worker processes for the module's tests that only ask it things."""
    with ServerProcess(tmp_path_factory.mktemp("serve"), "--workers", "2", token=TOKEN) as s:
        yield s


def one_line(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert lines == [f"gate: error: {message}"], result.stderr


def test_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    one_line(
        ServerProcess(tmp_path).run(),
        "GATE_SERVE_TOKEN is not set: gate serve needs a bearer token from the environment "
        "(or --insecure-no-auth to serve without one)",
    )
    one_line(ServerProcess(tmp_path, token="  ").run(), "GATE_SERVE_TOKEN is not set: gate "
             "serve needs a bearer token from the environment (or --insecure-no-auth to serve "
             "without one)")  # fmt: skip


def test_refuses_a_token_too_short_to_be_a_secret(tmp_path: Path) -> None:
    """Every other secret gate reads must be at least four characters; a one-letter bearer
    token let gate serve start, guessed in a hundred tries."""
    one_line(
        ServerProcess(tmp_path, token="ab").run(timeout=10),
        "GATE_SERVE_TOKEN: environment variable GATE_SERVE_TOKEN is too short to be a secret",
    )


def test_a_broken_policy_stops_start_up_with_one_line(tmp_path: Path) -> None:
    path = "tests/broken_inputs/policy-bad-cron.yaml"
    result = ServerProcess(tmp_path, "--policy", path, token=TOKEN).run()
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"gate: error: {path}:")
    assert "spec.windows[0].cron: '61 * * * *' is not a valid cron expression" in line


def test_a_broken_kill_switch_file_stops_start_up(tmp_path: Path) -> None:
    config = tmp_path / "ks.yaml"
    config.write_text(
        "canaries:\n  test/podinfo:\n    - {provider: unleash, url: http://127.0.0.1:1,\n"
        "       feature: f, tokenEnv: NO_SUCH_TOKEN_VAR}\n"
    )
    result = ServerProcess(tmp_path, "--kill-switches", str(config), token=TOKEN).run()
    one_line(
        result,
        f"{config}:4: canaries.test/podinfo[0].tokenEnv: environment variable NO_SUCH_TOKEN_VAR "
        "is not set",
    )


def test_a_busy_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = ServerProcess(tmp_path, token=TOKEN)
        argv = [sys.executable, "-m", "gate", "serve", "--port", str(port)]
        result = subprocess.run(
            argv, cwd=REPO, env=server.env, capture_output=True, text=True, timeout=30, check=False
        )
    one_line(result, f"--port: cannot listen on 127.0.0.1:{port}: Address already in use")


def test_gate_check_does_not_import_the_web_stack() -> None:
    code = (
        "import sys\n"
        "from gate.cli import main\n"
        "code = main(['check', '--change', 'examples/change-pass.yaml', '-f', 'json'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('starlette', 'uvicorn', 'anyio', 'h11', 'httpx', 'prometheus_client') "
        "or m.startswith('gate.serve'))\n"
        "print(code, heavy, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.stderr.strip() == "0 []"


def test_examples_answer_what_gate_check_prints(
    server: ServerProcess, gate: Callable[..., Result]
) -> None:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as client:
        for example in EXAMPLES:
            change = f"examples/{example}"
            expected = cli_report(gate, change)
            r = client.post("/v1/check", content=(REPO / change).read_bytes())
            assert r.status_code == STATUS[expected["decision"]], example
            assert without_times(r.json(), "<request>") == without_times(expected, change)


def test_200_concurrent_requests_without_an_error(server: ServerProcess) -> None:
    bodies = [(REPO / f"examples/{e}").read_bytes() for e in EXAMPLES]
    expected = {}
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as client:
        for body in bodies:
            expected[body] = client.post("/v1/check", content=body).json()["decision"]

    def one(i: int) -> tuple[int, str]:
        body = bodies[i % len(bodies)]
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as c:
            r = c.post("/v1/check", content=body)
            return r.status_code, r.json()["decision"] if r.status_code in (200, 403) else r.text

    with ThreadPoolExecutor(max_workers=200) as pool:
        answers = list(pool.map(one, range(200)))
    wanted = [expected[bodies[i % len(bodies)]] for i in range(200)]
    assert [d for _, d in answers] == wanted
    assert all(status == STATUS[d] for status, d in answers)


def test_metrics_add_up_both_workers(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as client:
        before = _count(client.get("/metrics").text, 'code="401",route="/v1/judge"')

        def anonymous(i: int) -> int:
            return httpx.post(f"{server.url}/v1/judge", json={}, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=100) as pool:  # at once: both workers accept some
            assert set(pool.map(anonymous, range(100))) == {401}
        after = _count(client.get("/metrics").text, 'code="401",route="/v1/judge"')
    assert after - before == 100
    pids = {r["pid"] for r in server.records() if r.get("status") == 401}
    assert len(pids) == 2  # both workers answered some


def _count(metrics: str, labels: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(f"gate_serve_requests_total{{{labels}}}"):
            return float(line.split()[-1])
    return 0.0


def test_limits_on_the_wire(tmp_path: Path) -> None:
    with ServerProcess(tmp_path, "--max-body", "4096", "--timeout", "1", token=TOKEN) as server:
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as client:
            r = client.post("/v1/check", content=b"#" * 5000)
            assert (r.status_code, r.json()["error"]) == (
                413,
                "<request>: body is 5000 bytes, more than 4096",
            )
            r = client.post("/v1/check", content=iter([b"#" * 1000] * 5))  # chunked
            assert (r.status_code, r.json()["error"]) == (
                413,
                "<request>: body is more than 4096 bytes",
            )
        # a body that never arrives in full: 408 once the time limit passes
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(
                b"POST /v1/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                + TOKEN.encode()
                + b'\r\nContent-Length: 100\r\n\r\n{"id":'
            )
            began = time.monotonic()
            answer = http.client.HTTPResponse(raw)
            answer.begin()
            took = time.monotonic() - began
            assert answer.status == 408
            assert json.loads(answer.read())["error"] == "<request>: not received within 1s"
        assert 0.8 < took < 5


def test_logs_are_json_lines_without_secrets(tmp_path: Path) -> None:
    secret = "flagger-metadata-secret-91c2"
    with ServerProcess(tmp_path, token=TOKEN) as server:
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as client:
            body = {
                "name": "podinfo",
                "namespace": "test",
                "phase": "Progressing",
                "metadata": {"token": secret, "change": "{"},
            }
            assert client.post("/v1/flagger/confirm-rollout", json=body).status_code == 400
            client.post("/v1/check", content=(REPO / "examples/change-block.yaml").read_bytes())
        with httpx.Client(base_url=server.url, timeout=30) as anonymous:
            anonymous.post("/v1/check", headers={"Authorization": "Bearer wrong-" + secret})
        code = server.stop()
    assert code == 0
    records = server.records()  # every line is JSON
    text = server.text()
    assert TOKEN not in text
    assert secret not in text
    requests = [r for r in records if r.get("message") == "request"]
    assert [(r["path"], r["status"]) for r in requests] == [
        ("/v1/flagger/confirm-rollout", 400),
        ("/v1/check", 403),
        ("/v1/check", 401),
    ]
    assert requests[1]["outcome"] == "block"
    assert all(len(r["request_id"]) == 16 and r["seconds"] >= 0 for r in requests)
    assert records[-1]["message"] == "stopped"


def test_insecure_no_auth_serves_without_a_token(tmp_path: Path) -> None:
    with ServerProcess(tmp_path, "--insecure-no-auth") as server:
        r = httpx.post(f"{server.url}/v1/check", content=b"{}", timeout=30)
        assert r.status_code == 422
        assert json.loads(r.text)["error"].startswith("<request>:1: ")
