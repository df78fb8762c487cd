"""``gate serve`` under load: 200 concurrent clients on /v1/check and /v1/judge, 1 and 4 workers.

    apt-get install wrk
    python benchmarks/serve/load.py [--seconds 10] [--clients 200]

Everything runs on 127.0.0.1: a real Prometheus scraping counters that grow at known rates
(tests/serve/traffic.py), and ``gate serve`` started as a process (--prometheus pointing at
it). For each endpoint and worker count, wrk holds ``--clients`` keep-alive connections, each
sending the next request as soon as the last is answered, for ``--seconds`` after a 2 s
warm-up. wrk, Prometheus and the server share the machine. Writes benchmarks/serve/results.md
and results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.integration.stack import Prometheus  # noqa: E402
from tests.serve.process import ServerProcess  # noqa: E402
from tests.serve.traffic import Arm, SyntheticTraffic, judge_request  # noqa: E402

TOKEN = "benchmark-token-not-a-secret"
CHANGE = (ROOT / "examples/change-pass.yaml").read_bytes()
WORKERS = (1, 4)


LUA = """
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{{"requests": %d, "duration_us": %d, "errors": %d, '
    .. '"p50_us": %d, "p99_us": %d, "max_us": %d}}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def run_wrk(url: str, body: bytes, clients: int, seconds: float, workdir: Path) -> dict[str, Any]:
    """One wrk run: ``clients`` connections, each sending the next request when the last is
    answered; a non-2xx answer, timeout or socket error counts as an error."""
    script = workdir / "post.lua"
    script.write_text(LUA.format(token=TOKEN, body=body.decode()))
    argv = [
        "wrk",
        "-t2",
        f"-c{clients}",
        f"-d{seconds:g}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True)
    summary: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    wall = summary["duration_us"] / 1e6
    return {
        "requests": summary["requests"],
        "errors": summary["errors"],
        "seconds": round(wall, 2),
        "throughput_rps": round(summary["requests"] / wall, 1),
        "p50_ms": round(summary["p50_us"] / 1000, 1),
        "p99_ms": round(summary["p99_us"] / 1000, 1),
        "max_ms": round(summary["max_us"] / 1000, 1),
    }


def load(url: str, endpoint: str, clients: int, seconds: float, workdir: Path) -> dict[str, Any]:
    if endpoint == "/v1/check":
        body = CHANGE
    else:
        body = json.dumps(judge_request("bad", "stable", window="5s", last="2m")).encode()
    run_wrk(url + endpoint, body, clients, 2, workdir)  # warm-up: connections and caches
    return run_wrk(url + endpoint, body, clients, seconds, workdir)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=200)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("benchmarks/serve/load.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    traffic = SyntheticTraffic([Arm("bad", 40, 0.05), Arm("stable", 360, 0.01)])
    with tempfile.TemporaryDirectory() as tmp:
        prom = Prometheus(Path(tmp) / "prometheus", [traffic.address])
        try:
            prom.start()
            time.sleep(15)  # a few judge windows of data
            for workers in WORKERS:
                with ServerProcess(
                    Path(tmp),
                    "--workers",
                    str(workers),
                    "--prometheus",
                    prom.url,
                    "--max-connections",
                    "2000",
                    token=TOKEN,
                ) as server:
                    for endpoint in ("/v1/check", "/v1/judge"):
                        result = load(server.url, endpoint, args.clients, args.seconds, Path(tmp))
                        row = {"endpoint": endpoint, "workers": workers, **result}
                        print(json.dumps(row), flush=True)
                        rows.append(row)
        finally:
            prom.stop()
            traffic.close()
    write(rows, args.clients, args.seconds, load_before)
    return 0


def write(rows: list[dict[str, Any]], clients: int, seconds: float, load_before: float) -> None:
    here = Path(__file__).resolve().parent
    (here / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        "# gate serve under load",
        "",
        f"wrk with {clients} concurrent connections, each sending the next request as soon as "
        f"the last is answered, for {seconds:g} s after a 2 s warm-up; loopback only; "
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}. The load generator shares the machine with the "
        f"server and Prometheus; the 1-minute load average before the run was {load_before:.1f} "
        "(other work on the machine). `python benchmarks/serve/load.py` reproduces it.",
        "",
        "* `/v1/check`: examples/change-pass.yaml against the bundled default policy.",
        "* `/v1/judge`: four range queries (2 minutes in 5-second steps) to a real Prometheus "
        "scraping counters at known rates, then the sequential judge.",
        "",
        "| endpoint | workers | requests | errors | throughput (req/s) | p50 (ms) | p99 (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['endpoint']}` | {r['workers']} | {r['requests']} | {r['errors']} | "
            f"{r['throughput_rps']} | {r['p50_ms']} | {r['p99_ms']} |"
        )
    (here / "results.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
