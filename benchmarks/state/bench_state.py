"""100 concurrent rollouts on one PostgreSQL state store, with reapers racing and a quarter of
the drivers killed -9 mid-rollout.

    python benchmarks/state/bench_state.py [--rollouts 100] [--workers 4] [--reapers 2]
                                           [--lease 6] [--kill 1] [--out results.md]

What runs (loopback only, bounded in time):

* a real PostgreSQL 15 (tests/integration/postgres.py) and a Prometheus-shaped HTTP server
  answering every instant query with one healthy sample;
* ``--workers`` driver processes, each running its share of the rollouts as threads: a real
  :class:`~gate.rollout.controller.Controller` with the dry-run router, gate's Prometheus
  provider, and the PostgreSQL journal (one connection per rollout, as one CI runner each);
  stages 10 % and 50 % for 6 s each at 1 s intervals, then 100 %;
* ``--reapers`` processes calling :func:`gate.rollout.reaper.reap` every second for the whole
  run;
* 4 s after every rollout has journaled its start, ``--kill`` of the worker processes are
  killed with SIGKILL (their rollouts are left progressing, their leases unrenewed).

Measured: journal operations (state saves, audit entries, request polls, lease renewals) and
their latency as the drivers saw them; rows written as PostgreSQL counted them
(pg_stat_user_tables); lease renewal latency p50/p99; and at the end, that every rollout is
accounted for — each live driver's promoted and never reaped, each killed driver's reaped
exactly once — none lost, none reaped twice, none reaped while its driver lived.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gate.config.loader import load_text  # noqa: E402
from gate.rollout.journal import Driver, RolloutJournal, RolloutState  # noqa: E402
from gate.rollout.spec import parse_rollout  # noqa: E402

STAGE_SECONDS = 6
KILL_AFTER = 4.0
DEADLINE = 180.0  # seconds: the whole run stops by then whatever happens


# -- a Prometheus-shaped metrics server ---------------------------------------------------------


class Metrics:
    """Answers every instant query with one sample of 0.001 (a healthy error rate)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                body = json.dumps(
                    {
                        "status": "success",
                        "data": {
                            "resultType": "vector",
                            "result": [{"metric": {}, "value": [time.time(), "0.001"]}],
                        },
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = _answer
            do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Metrics:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def spec_text(name: str, metrics_url: str) -> str:
    return json.dumps(
        {
            "apiVersion": "gate/v1",
            "kind": "Rollout",
            "metadata": {"name": name, "service": name},
            "spec": {
                "traffic": {"provider": "dryrun"},
                "metrics": {"provider": "prometheus", "url": metrics_url},
                "stages": [
                    {"weight": 10, "duration": f"{STAGE_SECONDS}s"},
                    {"weight": 50, "duration": f"{STAGE_SECONDS}s"},
                    {"weight": 100},
                ],
                "analysis": {
                    "interval": "1s",
                    "metrics": [{"name": "error-rate", "query": "errors", "max": 0.05}],
                },
            },
        }
    )


# -- the driver side: a timing proxy of gate's journal interface -------------------------------


@dataclass
class Timings:
    saves: list[float] = field(default_factory=list)
    audits: list[float] = field(default_factory=list)
    polls: list[float] = field(default_factory=list)
    renewals: list[float] = field(default_factory=list)
    lock = threading.Lock()

    def add(self, kind: str, seconds: float) -> None:
        with self.lock:
            getattr(self, kind).append(seconds)


class TimedJournal:
    """Delegates to the PostgreSQL journal and times each operation; a heartbeat that renewed
    the lease (the journal's ``renewed_at`` moved) is a renewal."""

    def __init__(self, inner: Any, timings: Timings) -> None:
        self.inner = inner
        self.timings = timings

    @property
    def name(self) -> str:
        return str(self.inner.name)

    def _timed(self, kind: str, call: Any, *args: Any, **kw: Any) -> Any:
        start = time.perf_counter()
        try:
            return call(*args, **kw)
        finally:
            self.timings.add(kind, time.perf_counter() - start)

    def acquire(self) -> None:
        self.inner.acquire()

    def release(self) -> None:
        self.inner.release()

    def locked(self) -> Any:
        return self.inner.locked()

    def heartbeat(self) -> None:
        before = self.inner.renewed_at
        start = time.perf_counter()
        self.inner.heartbeat()
        if self.inner.renewed_at != before:
            self.timings.add("renewals", time.perf_counter() - start)

    def driver(self) -> Driver | None:
        result: Driver | None = self.inner.driver()
        return result

    def load(self) -> RolloutState | None:
        result: RolloutState | None = self.inner.load()
        return result

    def save(self, state: RolloutState) -> None:
        self._timed("saves", self.inner.save, state)

    def audit(self, event: str, **fields: Any) -> None:
        self._timed("audits", self.inner.audit, event, **fields)

    def events(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.inner.events()
        return result

    def request(self, kind: str, reason: str) -> None:
        self.inner.request(kind, reason)

    def take_request(self, kind: str) -> str | None:
        result: str | None = self._timed("polls", self.inner.take_request, kind)
        return result

    def clear_requests(self) -> None:
        self.inner.clear_requests()


def worker(names: list[str], url: str, metrics_url: str, lease: float) -> int:
    """Drive ``names`` at once, one thread and one connection each; print timings as JSON."""
    from gate.providers.metrics.prometheus import PrometheusProvider
    from gate.providers.traffic.registry import dry_run_router
    from gate.rollout.controller import Controller
    from gate.rollout.stores import open_store

    timings = Timings()
    outcomes: dict[str, str] = {}

    def drive(name: str) -> None:
        spec = parse_rollout(load_text(spec_text(name, metrics_url), f"{name}.yaml"))
        store = open_store(url=url, lease_seconds=lease)
        metrics = PrometheusProvider(metrics_url)
        journal: RolloutJournal = TimedJournal(store.journal(name), timings)
        try:
            controller = Controller(
                spec=spec, router=dry_run_router(), metrics=metrics, journal=journal
            )
            with journal.locked():
                outcomes[name] = controller.run().status.value
        except Exception as exc:  # noqa: BLE001 - counted and reported, not hidden
            outcomes[name] = f"error: {type(exc).__name__}: {exc}"
        finally:
            metrics.close()
            store.close()

    threads = [threading.Thread(target=drive, args=(n,)) for n in names]
    for i, t in enumerate(threads):
        t.start()
        time.sleep(0.02 * (i % 5))  # runners do not all start in the same millisecond
    for t in threads:
        t.join(DEADLINE)
    print(json.dumps({"outcomes": outcomes, "timings": timings.__dict__}))
    return 0


def reaper(url: str, lease: float, until: float, index: int) -> int:
    """Reap every second until ``until`` (time.time()); print what this reaper reaped."""
    from gate.rollout.reaper import reap
    from gate.rollout.runtime import Options

    options = Options(state_url=url, lease_seconds=lease)
    reaped: list[dict[str, Any]] = []
    while time.time() < until:
        for r in reap(options, reaper=f"bench-reaper-{index}"):
            reaped.append({"name": r.name, "outcome": r.outcome, "at": time.time()})
        time.sleep(1.0)
    print(json.dumps({"reaped": reaped}))
    return 0


# -- the run -----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(value: float) -> str:
    return f"{value * 1000:.1f}"


@contextmanager
def postgres() -> Iterator[Any]:
    from tests.integration.postgres import PostgresServer

    with PostgresServer(max_connections=300) as server:
        server.gate_database("gate")
        yield server


def run(args: argparse.Namespace) -> str:
    names = [f"svc-{i:03d}" for i in range(args.rollouts)]
    shares = [names[i :: args.workers] for i in range(args.workers)]
    with postgres() as pg, Metrics() as metrics:
        url = pg.url("gate")
        env = {**os.environ, "GATE_STATE_URL": url, "PYTHONPATH": str(ROOT)}
        from gate.rollout.stores import open_store

        store = open_store(url=url, lease_seconds=args.lease)
        store.names()  # creates the tables before the crowd arrives
        started = time.time()
        me = [sys.executable, str(Path(__file__).resolve())]
        workers = [
            subprocess.Popen(
                [*me, "--worker", ",".join(share), "--metrics", metrics.url, "--lease",
                 str(args.lease)],
                env=env, stdout=subprocess.PIPE, text=True,
            )
            for share in shares
        ]  # fmt: skip
        until = started + 2 * STAGE_SECONDS + 3 * args.lease + 15
        reapers = [
            subprocess.Popen(
                [*me, "--reaper", str(i), "--until", str(until), "--lease", str(args.lease)],
                env=env, stdout=subprocess.PIPE, text=True,
            )
            for i in range(args.reapers)
        ]  # fmt: skip
        while len(store.names()) < args.rollouts and time.time() - started < 60:
            time.sleep(0.2)  # every rollout has journaled its start
        journaled_after = time.time() - started
        time.sleep(KILL_AFTER)
        killed = set()
        for w, share in zip(workers[: args.kill], shares[: args.kill], strict=True):
            w.send_signal(signal.SIGKILL)
            killed.update(share)
        killed_at = time.time()
        for w in workers[: args.kill]:
            w.wait(10)
        results = [w.communicate(timeout=DEADLINE)[0] for w in workers[args.kill :]]
        driven_until = time.time()
        reaps = [json.loads(r.communicate(timeout=DEADLINE)[0]) for r in reapers]
        wall = driven_until - started

        timings: dict[str, list[float]] = {"saves": [], "audits": [], "polls": [], "renewals": []}
        outcomes: dict[str, str] = {}
        for out in results:
            data = json.loads(out)
            outcomes.update(data["outcomes"])
            for kind in timings:
                timings[kind] += data["timings"][kind]
        reaped = [(r["name"], r["outcome"], r["at"]) for each in reaps for r in each["reaped"]]
        final = {n: store.journal(n).load() for n in names}
        audit = {n: store.journal(n).events() for n in names}
        rows = pg.psql(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
            "WHERE relname LIKE 'gate_%' ORDER BY relname",
            "gate",
        )
        store.close()

    # -- accounting: nothing lost, nothing reaped twice, nothing reaped while alive
    reaped_names = [n for n, _, _ in reaped]
    reaped_events = {n: sum(e["event"] == "reaped" for e in audit[n]) for n in names}
    live = [n for n in names if n not in killed]
    promoted = [n for n in live if outcomes.get(n) == "promoted"]
    ended = {n: s.status.value for n, s in final.items() if s is not None}
    lost = [n for n in names if ended.get(n) not in ("promoted", "aborted")]
    twice = [n for n in names if reaped_names.count(n) > 1 or reaped_events[n] > 1]
    wrongly = [n for n in live if reaped_events[n] or n in reaped_names]
    missed = [n for n in killed if reaped_events[n] != 1]
    reap_delay = [at - killed_at for n, _, at in reaped if n in killed]

    counts = {k: len(v) for k, v in timings.items()}
    ops = sum(counts.values())
    writes = counts["saves"] + counts["audits"] + counts["renewals"]
    table_rows = [line.split("|") for line in rows.split()]
    server_writes = sum(int(i) + int(u) + int(d) for _, i, u, d in table_rows)
    lines = [
        "# 100 concurrent rollouts on one PostgreSQL state store",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, PostgreSQL 15 on loopback (fsync on). "
        f"Command: `python benchmarks/state/bench_state.py --rollouts {args.rollouts} "
        f"--workers {args.workers} --reapers {args.reapers} --lease {args.lease:g} "
        f"--kill {args.kill}`.",
        "",
        f"{args.rollouts} rollouts started at once from {args.workers} driver processes (one "
        f"connection per rollout), each 2 stages × {STAGE_SECONDS} s at 1 s intervals then "
        f"100 %; {args.reapers} reapers running every second throughout; "
        f"{KILL_AFTER:g} s after every rollout had journaled its start ({journaled_after:.1f} s "
        f"after launch), {args.kill} driver process(es) killed -9 ({len(killed)} "
        f"rollouts left progressing). Lease {args.lease:g} s (renewed every "
        f"{args.lease / 3:g} s).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| wall time of the surviving drivers | {wall:.1f} s |",
        f"| journal operations by the drivers (saves, audit entries, request polls, renewals) "
        f"| {ops} ({ops / wall:.0f}/s) |",
        f"| of which writes (saves, audit entries, lease renewals) | {writes} "
        f"({writes / wall:.0f}/s) |",
        f"| rows written as PostgreSQL counted them (insert + update + delete) | {server_writes} |",
        f"| state save latency p50 / p99 | {ms(pct(timings['saves'], 0.5))} / "
        f"{ms(pct(timings['saves'], 0.99))} ms |",
        f"| audit entry latency p50 / p99 | {ms(pct(timings['audits'], 0.5))} / "
        f"{ms(pct(timings['audits'], 0.99))} ms |",
        f"| request poll (`take_request`) latency p50 / p99 | {ms(pct(timings['polls'], 0.5))} / "
        f"{ms(pct(timings['polls'], 0.99))} ms |",
        f"| **lease renewal latency p50 / p99** ({counts['renewals']} renewals) | "
        f"{ms(pct(timings['renewals'], 0.5))} / {ms(pct(timings['renewals'], 0.99))} ms |",
        f"| live rollouts promoted | {len(promoted)} / {len(live)} |",
        f"| killed rollouts reaped exactly once | {len(killed) - len(missed)} / {len(killed)} |",
        f"| time from kill to reaped (max) | "
        f"{max(reap_delay) if reap_delay else float('nan'):.1f} s (lease {args.lease:g} s + "
        "reaper period 1 s) |",
        f"| **lost** (not promoted and not rolled back) | {len(lost)} |",
        f"| **reaped twice** | {len(twice)} |",
        f"| **reaped while their driver lived** | {len(wrongly)} |",
        "",
        "The throughput is what 100 rollouts at 1 s intervals ask of the store (each polls "
        "for `gate abort` every 0.25 s), not its limit; the latencies show the headroom. "
        "Throughput and latency vary with the load of the shared 2-core machine.",
        "",
        "Rows per table (pg_stat_user_tables: inserted / updated / deleted):",
        "",
        *[f"- `{t}`: {i} / {u} / {d}" for t, i, u, d in table_rows],
        "",
    ]
    bad = [o for n, o in outcomes.items() if o not in ("promoted",)]
    if bad:
        lines += ["Driver outcomes other than promoted:", "", *[f"- {o}" for o in bad[:10]], ""]
    if lost or twice or wrongly or missed:
        lines += [f"FAILED: lost {lost}, twice {twice}, wrongly {wrongly}, missed {missed}", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rollouts", type=int, default=100)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--reapers", type=int, default=2)
    ap.add_argument("--lease", type=float, default=6.0)
    ap.add_argument("--kill", type=int, default=1)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--metrics", help=argparse.SUPPRESS)
    ap.add_argument("--reaper", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--until", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    url = os.environ.get("GATE_STATE_URL", "")
    if args.worker:
        return worker(args.worker.split(","), url, args.metrics, args.lease)
    if args.reaper is not None:
        return reaper(url, args.lease, args.until, args.reaper)
    report = run(args)
    print(report)
    if args.out:
        args.out.write_text(report + "\n")
    return 0 if "FAILED" not in report else 1


if __name__ == "__main__":
    raise SystemExit(main())
