"""What a hostile or careless user can throw at the command line: each mistake is one line
naming where it is and exit 2, never a traceback; a secret never leaves, not even in part."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar
from xml.etree import ElementTree

import pytest
import yaml

from gate.config.loader import load_file
from tests.cli.conftest import REPO, Result

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


def change_json(**fields: str) -> str:
    """examples/change-pass.yaml as JSON written the way most JSON writers write it: every
    character past ASCII as a \\u escape, those past the BMP as a UTF-16 surrogate pair."""
    data = yaml.safe_load((REPO / "examples/change-pass.yaml").read_text("utf-8"))
    return json.dumps({**data, **fields})


def test_json_with_escaped_emoji_is_read_as_the_emoji(
    gate: Callable[..., Result], tmp_path: Path
) -> None:
    change = tmp_path / "change.json"
    change.write_text(change_json(id="CHG-\U0001f680", title="Ship \U0001f680 faster"), "ascii")
    assert "\\ud83d\\ude80" in change.read_text("ascii")
    report = tmp_path / "report.json"
    r = gate("check", "--change", str(change), "-f", "json", "-o", str(report))
    assert (r.code, r.err) == (0, "")
    assert "CHG-\U0001f680" in report.read_text("utf-8")


def test_a_lone_surrogate_escape_is_refused_where_it_is(
    gate: Callable[..., Result], tmp_path: Path
) -> None:
    """``\\udcff`` alone is no character: writing it anywhere (a file, the step summary,
    standard output) would fail, so it is bad input, found where it is written."""
    change = tmp_path / "change.json"
    change.write_text(change_json(title="Fix \udcff parsing").replace(", ", ",\n"), "ascii")
    expected = f"gate: error: {change}:2: title: holds \\udcff, half of a UTF-16 surrogate "
    expected += "pair: not text\n"
    report = str(tmp_path / "report.txt")
    for args in (("validate", str(change)), ("check", "--change", str(change), "-o", report)):
        r = gate(*args)
        assert (r.code, r.err) == (2, expected)


CHOICES = "'text', 'json', 'junit', 'sarif', 'github', 'markdown'"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--format", "yaml"), f"--format: 'yaml' is not one of {CHOICES}."),
        (("-f", "yaml"), f"--format: 'yaml' is not one of {CHOICES}."),
        (
            ("--fromat", "json"),
            "No such option '--fromat'. Did you mean '--format'? See 'gate check --help'.",
        ),
        (("--change",), "Option '--change' requires an argument."),
    ],
)
def test_a_bad_flag_is_one_line(
    gate: Callable[..., Result], args: tuple[str, ...], line: str
) -> None:
    r = gate("check", "--change", "examples/change-pass.yaml", *args)
    assert (r.code, r.out) == (2, "")
    assert r.err == f"gate: error: {line}\n"


def test_a_bad_value_from_the_environment_names_the_variable(
    gate: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody typed --format: the value came from GATE_FORMAT, so that is what is named."""
    monkeypatch.setenv("GATE_FORMAT", "yaml")
    r = gate("check", "--change", "examples/change-pass.yaml")
    assert (r.code, r.err) == (2, f"gate: error: GATE_FORMAT: 'yaml' is not one of {CHOICES}.\n")
    monkeypatch.setenv("GATE_LEASE_SECONDS", "soon")
    r = gate("reap")
    assert (r.code, r.err) == (
        2,
        "gate: error: GATE_LEASE_SECONDS: 'soon' is not a valid float range.\n",
    )


def test_a_value_that_is_not_utf8_is_refused_by_name(
    gate: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Bytes that are not UTF-8 (Python hands them over as \\udcXX) cannot be written to a
    report, a step summary or JSON: the option, variable or file holding them is named."""
    report = str(tmp_path / "report.json")
    run = ("check", "--change", "examples/change-block.yaml", "-f", "json", "-o", report)
    r = gate(*run, "--env", "prod\udcff")
    assert (r.code, r.err) == (2, "gate: error: --env: 'prod\\udcff' is not UTF-8 text\n")
    r = gate(*run, "--override", "INC-1: caf\udce9")
    assert (r.code, r.err) == (
        2,
        "gate: error: --override: 'INC-1: caf\\udce9' is not UTF-8 text\n",
    )
    monkeypatch.setenv("GATE_ENV", "prod\udcff")
    r = gate(*run)
    assert (r.code, r.err) == (2, "gate: error: GATE_ENV: 'prod\\udcff' is not UTF-8 text\n")
    monkeypatch.delenv("GATE_ENV")
    policies = tmp_path / "policies"
    policies.mkdir()
    named = policies / "caf\udce9.yaml"
    named.write_text((REPO / "policies/default.yaml").read_text("utf-8"), "utf-8")
    r = gate(*run, "--policy", str(policies), "--no-default-policy")
    shown = str(named).replace("\udce9", "\\udce9")
    assert (r.code, r.err) == (2, f"gate: error: {shown}: the file name is not UTF-8 text\n")
    assert not Path(report).exists()


def test_an_unreachable_state_store_is_one_line(gate: Callable[..., Result]) -> None:
    """libpq explains a refused connection over two lines; gate says it on one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    r = gate("status", "--state-url", f"postgresql://gate@127.0.0.1:{port}/gate")
    assert r.code == 2
    [line] = r.err.splitlines()
    assert line.startswith(f"gate: error: the state store postgresql://gate@127.0.0.1:{port}/gate")
    assert line.endswith(
        "Connection refused Is the server running on that host and accepting TCP/IP connections?"
    ), line


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request 404 and keeps its Authorization header."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def recording_server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def flags_status(gate: Callable[..., Result], url: str) -> Result:
    return gate(
        "flags", "status", "--provider", "unleash", "--url", url, "--feature", "x",
        "--token-env", "UNLEASH_TOKEN",
    )  # fmt: skip


def test_a_token_read_with_its_line_break_is_sent_without_it(
    gate: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret mounted from a file or made with echo ends with a line break, which no HTTP
    header may hold: the token is the line, as gate serve reads its own."""
    monkeypatch.setenv("UNLEASH_TOKEN", "tok-0123456789\n")
    with recording_server() as (url, seen):
        r = flags_status(gate, url)
    assert seen, (r.out, r.err)
    assert set(seen) == {"tok-0123456789"}
    assert "not found" in r.out


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("tok-01234\r\nX-Evil: 1", "holds a control character (a line break?) inside it"),
        ("tok-0123\x1b[2Jmore", "holds a control character (a line break?) inside it"),
        ("tok-0123\u00e9456", "holds a character that is not ASCII"),
    ],
)
def test_a_token_no_header_can_carry_is_bad_input_and_never_shown(
    gate: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv("UNLEASH_TOKEN", value)
    with recording_server() as (url, seen):
        r = flags_status(gate, url)
    assert (r.code, r.out, seen) == (2, "", [])
    [line] = r.err.splitlines()
    where = "gate: error: command line: flags[0].tokenEnv"
    assert line.startswith(f"{where}: environment variable UNLEASH_TOKEN {problem}"), line
    assert "tok-0" not in line


FORGED = "0042_x\n::error file=app.py::forged\x1b]0;owned\x07.up.sql"


def forged_migration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[str, ...]:
    """A checkout whose migrations hold a file named with a line break, a workflow command
    and an escape sequence; the arguments of a gate check with a migrations check there."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / FORGED).write_text("")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: gate/v1\nkind: Policy\nmetadata: {name: db}\nspec:\n"
        "  checks:\n    - {name: db, type: migrations}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    change = str(REPO / "examples/change-pass.yaml")
    return ("check", "--change", change, "--policy", str(policy), "--no-default-policy")


def test_names_from_a_pull_request_cannot_start_workflow_commands(
    gate: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The GitHub runner reads a workflow command from every line a step prints, and a
    terminal obeys escape sequences: a migration's file name (like a check run's name or an
    incident's title, which gate quotes too) comes from whoever opened the pull request, so a
    line break or an escape in it is shown, never obeyed."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    r = gate(*forged_migration(monkeypatch, tmp_path))
    assert r.code == 1, r.err
    assert not [line for line in r.out.splitlines() if not line.startswith(("BLOCK", "  "))]
    assert "\x1b" not in r.out
    assert "0042_x\\n::error file=app.py::forged\\x1b]0;owned\\x07.up.sql" in r.out


def test_the_junit_report_stays_xml_whatever_it_quotes(
    gate: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """XML 1.0 has no escape, not even a character reference, for an escape or bell
    character: a report quoting one could not be read by any JUnit reader; it is shown as
    text instead."""
    r = gate(*forged_migration(monkeypatch, tmp_path), "--format", "junit")
    assert r.code == 1, r.err
    suite = ElementTree.fromstring(r.out.encode("utf-8"))
    [case] = suite.findall("testcase[@name='check:db']")
    failure = case.find("failure")
    assert failure is not None
    assert "forged\\x1b]0;owned\\x07.up.sql" in (failure.text or "")


JUDGE = (
    "judge", "--canary-errors", "a", "--canary-requests", "b", "--baseline-errors", "c",
    "--baseline-requests", "d", "--last", "10m",
)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            (*JUDGE, "--url", "prometheus:9090"),
            "--url: 'prometheus:9090' is not an http:// or https:// URL with a host",
        ),
        (
            (*JUDGE, "--url", "http://127.0.0.1:99999"),
            "--url: 'http://127.0.0.1:99999' is not a valid URL (Port out of range 0-65535)",
        ),
        (
            (*JUDGE, "--url", "http://admin:pw-0123@prometheus.example"),
            "--url: the URL holds credentials, and a command line is visible to every user of "
            "this machine; put the URL in GATE_PROMETHEUS_URL",
        ),
        (
            ("rollout", "--dry-run", "examples/rollout.yaml", "--pushgateway", "ftp://pg:9091"),
            "--pushgateway: 'ftp://pg:9091' is not an http:// or https:// URL with a host",
        ),
        (
            ("rollout", "--dry-run", "examples/rollout.yaml", "--metrics-port", "1",
             "--metrics-address", "a" * 300),
            f"--metrics-port: cannot listen on {'a' * 300}:1: encoding with 'idna' codec failed "
            "(UnicodeError: label too long)",
        ),
    ],
)  # fmt: skip
def test_a_url_or_address_option_is_checked_before_anything_runs(
    gate: Callable[..., Result], args: tuple[str, ...], line: str
) -> None:
    r = gate(*args)
    assert (r.code, r.err) == (2, f"gate: error: {line}\n")


def test_credentials_in_the_prometheus_url_from_the_environment_are_never_shown(
    gate: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("GATE_PROMETHEUS_URL", f"http://admin:pw-0123@127.0.0.1:{port}")
    r = gate(*JUDGE, "--format", "json")
    assert r.code == 5, r.err  # inconclusive: the server cannot be reached
    assert "pw-0123" not in r.out + r.err
    assert f"127.0.0.1:{port}" in r.out


CHECK_POLICY = ("check", "--change", "examples/change-pass.yaml", "--policy")


@pytest.mark.parametrize(
    ("example", "kind", "run"),
    [
        ("examples/policies/windows.yaml", None, CHECK_POLICY),
        ("examples/policies/windows.yaml", "7", CHECK_POLICY),
        ("examples/rollout.yaml", None, ("rollout", "--dry-run")),
        ("examples/rollout.yaml", "Deployment", ("rollout", "--dry-run")),
    ],
)  # fmt: skip
def test_a_kind_left_out_or_unknown_is_what_validate_and_the_run_both_say(
    gate: Callable[..., Result],
    tmp_path: Path,
    example: str,
    kind: str | None,
    run: tuple[str, ...],
) -> None:
    """Not every change-request field of a policy or rollout spec whose kind is missing or
    wrong: gate validate gives the one line the run gives."""
    lines = (REPO / example).read_text("utf-8").splitlines(keepends=True)
    edited = [
        f"kind: {kind}\n" if line.startswith("kind:") else line
        for line in lines
        if kind is not None or not line.startswith("kind:")
    ]
    path = tmp_path / "doc.yaml"
    path.write_text("".join(edited), "utf-8")
    validated = gate("validate", str(path))
    ran = gate(*run, str(path))
    assert (validated.code, ran.code) == (2, 2), (validated.err, ran.err)
    assert validated.err == ran.err
    [line] = ran.err.splitlines()
    assert ": kind: " in line


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "id: !!python/object/apply:os.system ['true']\n",
            "id: the tag !!python/object/apply:os.system is not allowed",
        ),
        ("id: CHG-1\napprovers: !!set {ana, li}\n", "approvers: the tag !!set is not allowed"),
        ("id: CHG-1\nlinks: !custom [a]\n", "links: the tag !custom is not allowed"),
    ],
)  # fmt: skip
def test_a_tag_on_a_list_or_mapping_is_refused_not_dropped(
    gate: Callable[..., Result], tmp_path: Path, text: str, line: str
) -> None:
    """YAML reads a tag on a scalar through its constructor, which refuses the ones gate does
    not know; on a list or a mapping the tag was dropped and the value read as plain data."""
    change = tmp_path / "change.yaml"
    change.write_text(text, "utf-8")
    for args in (("validate", str(change)), ("check", "--change", str(change))):
        r = gate(*args)
        where = f"{change}:{text.count(chr(10))}"
        assert (r.code, r.err) == (
            2,
            f"gate: error: {where}: {line}: gate reads plain mappings and lists\n",
        )


def test_a_live_check_whose_token_is_not_set_is_bad_input_even_if_it_may_fail_open(
    gate: Callable[..., Result], tmp_path: Path
) -> None:
    """onError: fail-open lets a deploy through while a server is down; a token that was never
    set is no outage but a broken pipeline that would let every deploy through, or block
    every one. It is bad input, named where the policy asks for it, as gate rollout does."""
    policy = tmp_path / "live.yaml"
    policy.write_text(
        "apiVersion: gate/v1\nkind: Policy\nmetadata: {name: live}\nspec:\n  checks:\n"
        "    - {name: ci, type: github, repository: acme/shop, onError: fail-open}\n"
        "    - {name: pd, type: incidents, tokenEnv: PD_TOKEN}\n",
        encoding="utf-8",
    )
    r = gate("check", "--change", "examples/change-pass.yaml", "--policy", str(policy))
    assert (r.code, r.out) == (2, "")
    assert r.err.splitlines() == [
        f"gate: error: {policy}:6: spec.checks[0].tokenEnv: environment variable GITHUB_TOKEN "
        "is not set",
        f"gate: error: {policy}:7: spec.checks[1].tokenEnv: environment variable PD_TOKEN "
        "is not set",
    ]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        ((*JUDGE, "--url", "http://127.0.0.1:9", "--alpha", "nan"),
         "--alpha: nan is not a finite number"),
        ((*JUDGE, "--url", "http://127.0.0.1:9", "--max-ratio", "NaN"),
         "--max-ratio: nan is not a finite number"),
        (
            ("judge", "--url", "http://127.0.0.1:9", "--method", "mann-whitney", "--canary", "a",
             "--baseline", "b", "--last", "10m", "--tolerance", "1e400"),
            "--tolerance: inf is not a finite number",
        ),
        (("serve", "--port", "0", "--timeout", "nan"), "--timeout: nan is not a finite number"),
        (("reap", "--lease-seconds", "nan"), "--lease-seconds: nan is not a finite number"),
    ],
)  # fmt: skip
def test_a_number_that_is_not_finite_is_refused(
    gate: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    line: str,
) -> None:
    """nan passes every range check (no comparison with it is true): --alpha nan judged with
    no bound on false alarms, and gate serve --timeout nan crashed."""
    monkeypatch.setenv("GATE_SERVE_TOKEN", "tok-0123456789")
    r = gate(*args)
    assert (r.code, r.out, r.err) == (2, "", f"gate: error: {line}\n")


def test_a_number_from_the_environment_that_is_not_finite_names_the_variable(
    gate: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATE_LEASE_SECONDS", "nan")
    r = gate("reap")
    assert (r.code, r.err) == (2, "gate: error: GATE_LEASE_SECONDS: nan is not a finite number\n")


def test_yaml_merge_keys_let_a_mapping_change_what_it_shares(
    gate: Callable[..., Result], tmp_path: Path
) -> None:
    """``<<: *first`` and then a key of the mapping's own is YAML's way to share settings and
    change one (yaml.org/type/merge.html: the mapping's own keys win); it was refused as a
    duplicate key. Two of a mapping's own keys with one name still are."""
    text = (REPO / "examples/rollout.yaml").read_text("utf-8")
    first = "    - {weight: 1, duration: 5m, errorThreshold: 0.1}\n"
    second = "    - {weight: 5, duration: 10m}\n"
    assert first in text and second in text  # noqa: PT018 - the example this edits
    spec = tmp_path / "rollout.yaml"
    spec.write_text(
        text.replace(first, first.replace("- {", "- &first {")).replace(
            second, "    - {<<: *first, weight: 5, duration: 10m}\n"
        ),
        "utf-8",
    )
    r = gate("validate", str(spec))
    assert (r.code, r.err) == (0, ""), r.err
    stages = load_file(spec).data["spec"]["stages"]
    assert stages[1] == {"weight": 5, "duration": "10m", "errorThreshold": 0.1}
    spec.write_text(
        spec.read_text("utf-8").replace("weight: 5, duration: 10m", "weight: 5, weight: 6")
    )
    r = gate("validate", str(spec))
    line = text.splitlines().index(second.rstrip("\n")) + 1
    assert (r.code, r.err) == (
        2,
        f"gate: error: {spec}:{line}: spec.stages[1].weight: duplicate key 'weight' "
        f"(first defined on line {line})\n",
    )


def test_a_nul_written_as_an_escape_is_refused_where_it_is(
    gate: Callable[..., Result], tmp_path: Path
) -> None:
    """A NUL in the file is refused as binary; written as \\0 inside quotes, YAML reads it into
    the string, where no program argument, path or header can hold it: gate validate said ok
    and the command check failed 'unexpectedly (ValueError)'."""
    policy = tmp_path / "nul.yaml"
    policy.write_text(
        "apiVersion: gate/v1\nkind: Policy\nmetadata: {name: n}\nspec:\n  checks:\n"
        '    - {name: t, type: command, argv: ["tr\\0ue"]}\n',
        encoding="utf-8",
    )
    line = (
        f"gate: error: {policy}:6: spec.checks[0].argv[0]: holds a NUL character (\\0), "
        "which no argument, path or header can hold\n"
    )
    for args in (("validate",), ("check", "--change", "examples/change-pass.yaml", "--policy")):
        r = gate(*args, str(policy))
        assert (r.code, r.err) == (2, line)
