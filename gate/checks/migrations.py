"""``type: migrations``: every migration matching ``glob`` has its rollback: ``*.up.sql`` ↔
``*.down.sql`` by default (``up``/``down`` name the parts to swap), or for Alembic-style Python
files a ``downgrade()`` that does more than ``pass``."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from gate.change import ChangeRequest
from gate.checks.interface import CheckContext, CheckOutcome
from gate.config.node import Node

_DOWNGRADE = re.compile(r"def downgrade\([^)]*\)[^:\n]*:[ \t]*\n((?:[ \t]+[^\n]*\n?|[ \t]*\n)*)")
MAX_FILES = 10_000


@dataclass(frozen=True)
class Settings:
    glob: str = "migrations/*.up.sql"
    up: str = ".up."
    down: str = ".down."

    @classmethod
    def parse(cls, node: Node) -> Settings:
        from gate.checks.registry import settings_keys

        settings_keys(node, ("glob", "up", "down"), "migrations")
        glob = node.text("glob", cls.glob)
        if glob.startswith("/") or ".." in Path(glob).parts:
            raise node["glob"].error("a glob relative to the working directory, without '..'")
        return cls(glob=glob, up=node.text("up", cls.up), down=node.text("down", cls.down))


def _undoes(source: str) -> bool:
    """Whether an Alembic-style migration's ``downgrade()`` does something: a body of only a
    docstring, ``pass``, ``...`` or a ``raise`` (the usual mark of an irreversible migration)
    undoes nothing. A file Python cannot parse is judged by the text of its ``downgrade``."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        body = _DOWNGRADE.search(source)
        lines = [ln.strip() for ln in (body.group(1) if body else "").splitlines()]
        code = [ln for ln in lines if ln and not ln.startswith(("#", '"', "'"))]
        return bool(code) and code != ["pass"] and not code[0].startswith(("raise", "..."))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "downgrade":
            for statement in node.body:
                if isinstance(statement, ast.Raise):
                    return False  # raised before doing anything
                idle = isinstance(statement, ast.Pass) or (
                    isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
                )  # pass, a docstring, ...
                if not idle:
                    return True
            return False
    return False


def run(settings: Settings, change: ChangeRequest, context: CheckContext) -> CheckOutcome:
    files = []
    for p in Path().glob(settings.glob):
        if p.is_file():
            files.append(p)
            if len(files) > MAX_FILES:
                break
    files.sort()
    missing = []
    for f in files:
        if f.suffix == ".py" and settings.up == ".up.":
            text = f.read_text(encoding="utf-8", errors="replace")[:1_000_000]
            if not _undoes(text):
                missing.append(f"{f} (no downgrade)")
            continue
        if settings.up not in f.name:
            continue
        partner = f.with_name(f.name.replace(settings.up, settings.down, 1))
        if not partner.exists():
            missing.append(f"{f} (no {partner.name})")
    if missing:
        return CheckOutcome.failed(
            f"{len(missing)} migration(s) cannot be rolled back: " + "; ".join(missing[:10])
        )
    return CheckOutcome.passed(f"{len(files)} migration(s), each with its rollback")
