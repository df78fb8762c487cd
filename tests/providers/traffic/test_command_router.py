"""CommandRouter runs real child processes (the Python interpreter) without a shell."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gate.errors import ConfigError, ProviderRejected, ProviderUnavailable
from gate.providers.traffic.command import CommandRouter
from gate.providers.traffic.registry import ROUTERS
from tests.providers.blocks import configured

RECORD = "import json,sys; open(sys.argv[1],'a').write(json.dumps(sys.argv[2:])+'\\n')"


def test_placeholders_are_substituted_per_argument(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    router = CommandRouter(
        set_argv=[
            sys.executable,
            "-c",
            RECORD,
            str(log),
            "{{ service }}",
            "canary={{weight}} stable={{ stable_weight }}",
            "$(touch pwned); echo",
        ],
        service="checkout; rm -rf /",
    )
    router.set_canary_weight(25)
    (call,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert call == ["checkout; rm -rf /", "canary=25 stable=75", "$(touch pwned); echo"]
    assert not (tmp_path / "pwned").exists()
    assert router.canary_weight() is None


def test_non_zero_exit_is_rejected_with_stderr_tail() -> None:
    script = (
        "import sys; print('noise'); sys.stderr.write('x'*900 + '\\nforbidden: no RBAC');"
        " sys.exit(3)"
    )
    router = CommandRouter(set_argv=[sys.executable, "-c", script])
    with pytest.raises(ProviderRejected, match=r"exited with 3: .*forbidden: no RBAC$"):
        router.set_canary_weight(5)


def test_timeout_is_unavailable() -> None:
    router = CommandRouter(
        set_argv=[sys.executable, "-c", "import time; time.sleep(10)"], timeout=0.3
    )
    with pytest.raises(ProviderUnavailable, match=r"no answer within 0\.3s"):
        router.set_canary_weight(5)


def test_missing_program_is_rejected() -> None:
    router = CommandRouter(set_argv=["/nonexistent/kubectl", "{{ weight }}"])
    with pytest.raises(ProviderRejected, match="/nonexistent/kubectl: command not found"):
        router.set_canary_weight(5)


@pytest.mark.parametrize(("stdout", "expected"), [("42\n", 42), ("  7% ", 7), ("0", 0)])
def test_read_back_parses_an_integer(stdout: str, expected: int) -> None:
    router = CommandRouter(
        set_argv=[sys.executable, "-c", "pass"],
        get_argv=[sys.executable, "-c", f"print({stdout!r}, end='')"],
    )
    assert router.canary_weight() == expected


@pytest.mark.parametrize("stdout", ["weight: 42", "", "250"])
def test_read_back_garbage_is_rejected(stdout: str) -> None:
    router = CommandRouter(
        set_argv=[sys.executable, "-c", "pass"],
        get_argv=[sys.executable, "-c", f"print({stdout!r})"],
    )
    with pytest.raises(ProviderRejected, match="read-back printed"):
        router.canary_weight()


def test_unknown_placeholder_is_a_config_error_when_the_spec_loads() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^spec.yaml: items\[0\].set\[1\]: unknown placeholder \{\{ wieght \}\}",
    ):
        configured(ROUTERS, {"provider": "command", "set": ["kubectl", "{{ wieght }}"]})
    with pytest.raises(ConfigError, match=r"items\[0\].set: needs at least 1 item"):
        configured(ROUTERS, {"provider": "command", "set": []})


def test_a_killed_command_takes_its_children_with_it(tmp_path: Path) -> None:
    marker = tmp_path / "child-alive"
    child = tmp_path / "child.py"
    child.write_text(f"import time\ntime.sleep(2)\nopen({str(marker)!r}, 'w').close()\n")
    parent = tmp_path / "parent.py"
    parent.write_text(
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, {str(child)!r}])\n"
        "time.sleep(30)\n"
    )
    router = CommandRouter(set_argv=[sys.executable, str(parent)], timeout=0.5)
    with pytest.raises(ProviderUnavailable, match="killed"):
        router.set_canary_weight(5)
    import time

    time.sleep(2.5)
    assert not marker.exists()
