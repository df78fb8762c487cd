"""What a hostile or careless user can throw at the command line: each mistake is one line
naming where it is and exit 2, never a traceback; a secret never leaves, not even in part."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Result

TOKEN = "ghs_0123456789abcdefSECRET"


def suffixes(secret: str, shortest: int = 4) -> list[str]:
    return [secret[i:] for i in range(len(secret) - shortest + 1)]


def test_a_command_check_that_prints_a_secret_leaves_no_part_of_it(
    gate: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The failure of a command check quotes the end of its output; when the cut falls
    inside a secret, what is left of the secret must not be shown either."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    script = "import os; print('refused ' + os.environ['GITHUB_TOKEN'] + ' ' + 'y' * 290); exit(1)"
    policy = tmp_path / "live.yaml"
    policy.write_text(
        "apiVersion: gate/v1\nkind: Policy\nmetadata: {name: live}\nspec:\n  checks:\n"
        f"    - {{name: tool, type: command, argv: [{sys.executable!r}, -c, {script!r}]}}\n",
        encoding="utf-8",
    )
    for fmt in ("text", "json"):
        r = gate(
            "check", "--change", "examples/change-pass.yaml", "--policy", str(policy), "-f", fmt
        )
        assert r.code == 1, r.err
        assert "yyyy" in r.out  # the output was quoted, cut short
        shown = r.out + "".join(
            line for line in r.err.splitlines() if not line.startswith("::add-mask::")
        )
        assert not [s for s in suffixes(TOKEN) if s in shown], shown
