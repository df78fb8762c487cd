"""``POST /v1/judge`` through the real ``gate serve`` process against a real Prometheus that
scrapes counters growing at known rates: no data is inconclusive, a canary with five times the
baseline's error rate fails, an equal one does not, and 200 concurrent requests all succeed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.integration.stack import Prometheus
from tests.serve.process import ServerProcess
from tests.serve.traffic import Arm, SyntheticTraffic, judge_request

pytestmark = pytest.mark.integration

TOKEN = "judge-test-token-02b1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ARMS = [Arm("bad", 40, 0.05), Arm("good", 40, 0.01), Arm("stable", 360, 0.01)]
WAIT = 60.0


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    traffic = SyntheticTraffic(ARMS)
    prom = Prometheus(tmp_path_factory.mktemp("prometheus"), [traffic.address])
    try:
        prom.start()
        yield prom
    finally:
        prom.stop()
        traffic.close()


@pytest.fixture(scope="module")
def server(
    prometheus: Prometheus, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("serve")
    args = ("--prometheus", prometheus.url, "--workers", "2")
    with ServerProcess(workdir, *args, token=TOKEN) as s:
        yield s


def judge(server: ServerProcess, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/judge", json=body, headers=AUTH, timeout=30)


def test_no_data_is_inconclusive(server: ServerProcess) -> None:
    r = judge(server, judge_request("nothing", "nobody"))
    assert r.status_code == 200
    body = r.json()
    assert (body["verdict"], body["windows"], body["rates"]["canary"]) == ("inconclusive", 0, None)
    r = judge(server, judge_request("nothing", "stable"))  # a baseline but no canary
    assert r.json()["verdict"] == "inconclusive"
    assert r.json()["totals"]["canary_requests"] == 0


def test_five_times_worse_canary_fails_and_an_equal_one_does_not(server: ServerProcess) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        bad = judge(server, judge_request("bad", "stable")).json()
        if bad["verdict"] == "fail" or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert bad["verdict"] == "fail", bad
    assert bad["rates"]["canary"] == pytest.approx(0.05, rel=0.1)
    assert bad["rates"]["baseline"] == pytest.approx(0.01, rel=0.1)
    good = judge(server, judge_request("good", "stable")).json()
    assert good["verdict"] != "fail", good
    assert good["totals"]["canary_requests"] > 0


def test_200_concurrent_judge_requests_without_an_error(server: ServerProcess) -> None:
    bodies = [judge_request(arm, "stable") for arm in ("bad", "good", "nothing")]

    def one(i: int) -> tuple[int, str]:
        r = judge(server, bodies[i % 3])
        return r.status_code, r.json().get("verdict", r.text)

    with ThreadPoolExecutor(max_workers=200) as pool:
        answers = list(pool.map(one, range(200)))
    assert {status for status, _ in answers} == {200}
    assert {v for _, v in answers[2::3]} == {"inconclusive"}


def test_prometheus_errors_reach_the_caller(server: ServerProcess) -> None:
    body = {**judge_request("bad", "stable"), "canaryErrors": "sum(rate(x[5s])"}
    r = judge(server, body)
    assert r.status_code == 422
    assert r.json()["error"].startswith("prometheus: ")
    assert "/api/v1/query_range: HTTP 400: bad_data: 1:16: parse error" in r.json()["error"]
    elsewhere = {**judge_request("bad", "stable"), "prometheus": "http://127.0.0.1:1"}
    r = judge(server, elsewhere)
    assert r.status_code == 422
    assert r.json()["error"] == (
        "<request>:1: prometheus: not a Prometheus this server may query "
        "(see gate serve --allow-prometheus)"
    )
