"""A real Prometheus holding weeks of history: series written as OpenMetrics, turned into TSDB
blocks by ``promtool tsdb create-blocks-from openmetrics``, then served by a Prometheus on
127.0.0.1 and a free port (the suite's own :class:`tests.integration.stack.Prometheus`, with
nothing to scrape), bounded in time and always stopped."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.integration.stack import Prometheus, _http_get

PROMTOOL_TIMEOUT = 240.0

Series = tuple[str, Callable[[float], float | None]]  # 'name{labels}', value at a time


def write_openmetrics(path: Path, metric: str, series: Sequence[Series], times: range) -> None:
    """One gauge family; each series in time order (promtool wants that); None skips a point."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write(f"# HELP {metric} Backfilled test series.\n# TYPE {metric} gauge\n")
        for name, value in series:
            for t in times:
                v = value(float(t))
                if v is not None:
                    fh.write(f"{name} {v:.6g} {t}\n")
        fh.write("# EOF\n")


def create_blocks(openmetrics: Path, tsdb: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        raise RuntimeError("promtool is not installed (Debian's prometheus package ships it)")
    tsdb.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(openmetrics),
         str(tsdb)],
        check=True,
        capture_output=True,
        timeout=PROMTOOL_TIMEOUT,
    )  # fmt: skip


class HistoryPrometheus(Prometheus):
    """Prometheus over a backfilled TSDB: nothing to scrape, history kept for a year."""

    name = "prometheus"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, [])

    def _argv(self) -> list[str]:
        return [*super()._argv(), "--storage.tsdb.retention.time=365d"]

    def _ready(self) -> bool:
        status, _ = _http_get(f"{self.url}/-/ready")
        return status == 200


@contextmanager
def prometheus_with_history(
    workdir: Path, metric: str, series: Sequence[Series], times: range
) -> Iterator[HistoryPrometheus]:
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "history.om"
    write_openmetrics(source, metric, series, times)
    server = HistoryPrometheus(workdir / "prometheus")
    create_blocks(source, server.workdir / "tsdb")
    source.unlink()
    server.start(timeout=120.0)
    try:
        yield server
    finally:
        server.stop()
