"""The import graph runs one way: no module imports a higher layer, and there is no import
cycle — counting the imports inside functions too (they only defer an import, for start-up
time; they do not make an upward dependency acceptable)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# lowest first; a module may import its own layer and those below it
LAYERS: list[tuple[str, ...]] = [
    ("gate", "gate.errors", "gate.secrets", "gate.process", "gate.config"),
    ("gate.providers",),
    ("gate.change", "gate.judge", "gate.anomaly"),
    ("gate.checks",),
    ("gate.policy", "gate.rollout"),
    ("gate.report", "gate.telemetry", "gate.delivery", "gate.schemas"),
    ("gate.serve",),
    ("gate.cli", "gate.__main__"),
]


def layer_of(module: str) -> int:
    best, found = -1, -1
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, found = len(name), i
    assert found >= 0, f"{module} belongs to no layer: add it to LAYERS"
    return found


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted((REPO / "gate").rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def imports(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("gate"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            if base == "gate" or base.startswith("gate."):
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    out.add(sub if (REPO / Path(*sub.split("."))).exists() else base)
    return out


GRAPH = {name: imports(name, path) for name, path in modules()}


def test_no_module_imports_a_higher_layer() -> None:
    upward = sorted(
        f"{name} ({layer_of(name)}) imports {target} ({layer_of(target)})"
        for name, targets in GRAPH.items()
        for target in targets
        if target in GRAPH and layer_of(target) > layer_of(name)
    )
    assert upward == []


def test_no_import_cycle() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w not in GRAPH or w == v:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    # a package's __init__ re-exporting its own modules is not a cycle worth naming
    cycles = [c for c in cycles if not all(m.startswith(c[0] + ".") for m in c[1:])]
    assert cycles == []


def test_gate_check_imports_no_http_or_statistics_stack() -> None:
    """What ``gate check`` imports at start-up is light: no httpx, numpy, scipy,
    prometheus_client or web framework at the top of a module on its path."""
    import subprocess
    import sys

    code = (
        "import sys; from gate.cli import main; "
        "print(','.join(m for m in ('httpx','numpy','scipy','prometheus_client','starlette',"
        "'uvicorn','psycopg','matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.strip()
    assert out == ""
