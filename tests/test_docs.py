"""The docs tell the truth: every `gate` command in README.md, in examples/*/README.md and in
the header comments of the example files is run (those that need no outside server) or
parsed exactly as gate would parse it (those that drive a router, a server or a flag
service), its files exist and validate, and where the text claims an outcome (ALLOW, WARN,
BLOCK) the run gives it. Every file that a command's help names exists."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from gate.cli import cli
from tests.cli.conftest import REPO, Result, gate

__all__ = ["gate"]  # the fixture that runs gate in-process

DOCS = ["README.md", *sorted(str(p.relative_to(REPO)) for p in REPO.glob("examples/*/README.md"))]
EXAMPLE_FILES = sorted(
    str(p.relative_to(REPO))
    for p in REPO.glob("examples/**/*")
    if p.suffix in (".yaml", ".yml", ".json")
)
# placeholders in generic usage lines, and the bundled example that stands in for each
PLACEHOLDERS = {
    "change.yaml": "examples/change-request.yaml",
    "rollout.yaml": "examples/rollout.yaml",
    "changes/CHG-1042.yaml": "examples/change-request.yaml",
}
OUTCOME = re.compile(r"\b(ALLOW|WARN|BLOCK)\b")
COMMAND = re.compile(
    r"^(?:\$\s+)?(?:scripts/install\s+&&\s+)?(?:[A-Z_]+=\S+\s+)*(?:\.venv/bin/)?gate\s+(.*)$"
)


@dataclass(frozen=True)
class Documented:
    where: str
    args: tuple[str, ...]
    claim: str | None

    def __str__(self) -> str:
        return f"{self.where}: gate {' '.join(self.args)}"


def _command(line: str, where: str, claim_text: str) -> Documented | None:
    code, _, comment = line.partition("  #")
    match = COMMAND.match(code.strip())
    if match is None or "  " in match.group(1).strip():
        return None  # not a command line (a table row lays out columns with spaces)
    words = shlex.split(match.group(1))
    args = tuple(PLACEHOLDERS.get(w, w) for w in words)
    claim = OUTCOME.search(comment) or OUTCOME.search(claim_text)
    return Documented(where, args, claim.group(1) if claim else None)


def documented() -> Iterator[Documented]:
    for doc in DOCS:
        lines = (REPO / doc).read_text(encoding="utf-8").splitlines()
        in_block, pending = False, ""
        for number, raw in enumerate(lines, 1):
            if raw.startswith("```"):
                in_block = not in_block
                continue
            if not in_block:
                continue
            line = pending + raw.strip()
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            pending = ""
            found = _command(line, f"{doc}:{number}", "")
            if found is not None:
                yield found
    for example in EXAMPLE_FILES:
        header: list[str] = []
        for raw in (REPO / example).read_text(encoding="utf-8").splitlines():
            if not raw.startswith("#"):
                break
            header.append(raw)
        pending = ""
        for number, raw in enumerate(header, 1):
            body = raw.lstrip("#")
            if not (body.startswith("  ") or pending):
                continue
            line = pending + body.strip()
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            pending = ""
            claim_text = header[number - 2] if number > 1 else ""
            found = _command(line, f"{example}:{number}", claim_text)
            if found is not None:
                yield found


COMMANDS = list(documented())
RUN = {"check", "validate", "schema", "status"}  # need no outside server: run them


def test_the_docs_show_commands() -> None:
    assert len(COMMANDS) >= 10
    assert {c.args[0] for c in COMMANDS} >= {"check", "rollout", "status", "abort", "serve"}


def _parse(args: tuple[str, ...]) -> click.Context:
    """Parse the command line as gate would, without running it: options, choices, types."""
    command: click.Command = cli
    rest = list(args)
    while isinstance(command, click.Group):
        name, rest = rest[0], rest[1:]
        assert name in command.commands, f"gate has no command {name!r}"
        command = command.commands[name]
    return command.make_context(f"gate {args[0]}", rest, resilient_parsing=False)


@pytest.mark.parametrize("doc", COMMANDS, ids=str)
def test_documented_command(
    doc: Documented, gate: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _parse(doc.args)
    files = [a for a in doc.args if re.match(r"^(examples|policies)/", a)]
    for f in files:
        assert (REPO / f).exists(), f"{doc}: {f} does not exist"
        if (REPO / f).is_file() and f.endswith((".yaml", ".yml", ".json")):
            if "kill-switches" in f:
                continue  # a gate serve configuration, validated by tests/serve
            r = gate("validate", f)
            assert r.code == 0, f"{doc}: {r.err}"
    if doc.args[0] not in RUN:
        return
    monkeypatch.setenv("GATE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path) if "--output" in doc.args else None
    args = [str(REPO / a) if (REPO / a).exists() and "/" in a else a for a in doc.args]
    r = gate(*args)
    assert r.code in (0, 1), f"{doc}: exit {r.code}: {r.err}"
    assert "Traceback" not in r.err
    if doc.claim is not None:
        decision = r.out.split()[0] if r.out else ""
        assert decision == doc.claim, f"{doc}: the docs say {doc.claim}, gate says {decision}"


def _paths(text: str) -> Iterator[str]:
    yield from re.findall(r"(?:examples|policies|deploy)/[\w./-]+\w", text)


def _all(group: click.Group) -> Iterator[click.Command]:
    for command in group.commands.values():
        yield command
        if isinstance(command, click.Group):
            yield from _all(command)


def test_every_file_named_in_help_exists() -> None:
    named = {
        path
        for command in _all(cli)
        for text in (command.help or "", command.epilog or "")
        for path in _paths(text)
    }
    assert named, "the help names example files"
    missing = sorted(p for p in named if not (REPO / p).exists())
    assert missing == []
