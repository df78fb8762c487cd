"""The analyzer's measurements in flight: abandoned ones never hold gate."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_measurement_abandoned_in_flight_never_holds_the_process_at_exit() -> None:
    """`gate abort` or SIGTERM abandon a query that hangs until its deadline (up to 300 s):
    traffic is rolled back at once, and the process must then exit at once too, not when the
    abandoned query finally times out."""
    script = textwrap.dedent(
        """
        import threading
        from tests.rollout.fakes import FakeMetrics, spec
        from gate.rollout.analysis import Analyzer

        hang = threading.Event()
        metrics = FakeMetrics(lambda q, n: hang.wait(30) and 0.0)
        analyzer = Analyzer(spec().analysis, metrics, {"service": "checkout"})
        assert analyzer.measure(None, stop=lambda: True) is None
        """
    )
    began = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    seconds = time.monotonic() - began
    assert proc.returncode == 0, proc.stderr
    assert seconds < 10, f"the process waited {seconds:.1f}s for an abandoned query"
