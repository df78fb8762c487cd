"""Copy the published data vectors of Kayenta's test suites into JSON (facts, not code).

    git clone https://github.com/spinnaker/kayenta /tmp/kayenta
    python tests/judge/data/extract_kayenta.py /tmp/kayenta > tests/judge/data/kayenta_suites.json

For every ``test("…")`` of MannWhitneySuite and ClassifierSuite, each ``val NAME = Array(…)``
literal becomes ``{"suite": {"test name": {"NAME": [numbers]}}}``. The assertions themselves
are written out by hand in tests/judge/test_kayenta_*.py, one test per upstream test.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

SUITES = {
    "MannWhitneySuite": "kayenta-mannwhitney/src/test/scala/com/netflix/kayenta/mannwhitney/"
    "MannWhitneySuite.scala",
    "ClassifierSuite": "kayenta-judge/src/test/scala/com/netflix/kayenta/judge/"
    "ClassifierSuite.scala",
}
TEST = re.compile(r'test\("([^"]+)"\)\s*\{')
ARRAY = re.compile(r"val\s+(\w+)\s*=\s*Array(?:\[Double\])?\(([^)]*)\)", re.S)


def arrays(text: str) -> dict[str, dict[str, list[float]]]:
    starts = [(m.start(), m.group(1)) for m in TEST.finditer(text)]
    out: dict[str, dict[str, list[float]]] = {}
    for i, (pos, name) in enumerate(starts):
        body = text[pos : starts[i + 1][0] if i + 1 < len(starts) else len(text)]
        found = {}
        for m in ARRAY.finditer(body):
            items = [s.strip() for s in m.group(2).split(",")]
            found[m.group(1)] = [float(s) for s in items if s]
        if found:
            out[name] = found
    return out


def main() -> int:
    repo = Path(sys.argv[1])
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    data: dict[str, object] = {"source": "https://github.com/spinnaker/kayenta", "commit": commit}
    for suite, path in SUITES.items():
        data[suite] = {"path": path, "tests": arrays((repo / path).read_text(encoding="utf-8"))}
    json.dump(data, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
