"""The ``github`` live check against a strict fake of GitHub's REST API.

Facts from github/rest-api-description (api.github.com.json) and GitHub's "Using pagination
in the REST API": lists take ``per_page`` (at most 100) and page through
``Link: <…>; rel="next"``, whose URL (query included, sometimes on a ``/repositories/{id}``
path) is to be followed as given; a review's ``user`` is nullable (deleted accounts); review
``state`` is APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED or PENDING; a check run's
``conclusion`` is success, neutral or skipped (passing) or failure, cancelled, timed_out,
action_required, stale; a workflow job has ``runner_name`` and ``check_run_url``.

The fake answers only the exact path and query it was given for each page and 404s
anything else, so a client that drops the page from a ``next`` link (as
``client.get(url, params={})`` does under httpx 0.28) reads the wrong page and fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import respx
import yaml

from gate.checks.interface import CheckContext, CheckOutcome, Status
from gate.checks.registry import CHECKS, parse_checks
from gate.config.loader import load_text
from gate.config.node import Node
from gate.errors import GateError
from tests.policy.helpers import change

API = "https://api.github.com"
REPO_PATH = "/repos/acme/shop"
BY_ID = "/repositories/4242"  # where GitHub's next links point
SHA = "b" * 40


class StrictGitHub:
    """Pages and single answers keyed by exact path and query."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, tuple[tuple[str, str], ...]], httpx.Response] = {}
        self.unexpected: list[str] = []

    def answer(self, path: str, query: dict[str, str], response: httpx.Response) -> None:
        self.answers[(path, tuple(sorted(query.items())))] = response

    def pages(self, path: str, items: list[Any], key: str | None = None) -> None:
        """``items`` 100 a page: page 1 at ``REPO_PATH + path?per_page=100``, later pages at
        the ``/repositories/{id}`` URLs the ``Link`` headers give."""
        chunks = [items[i : i + 100] for i in range(0, len(items), 100)] or [[]]
        for number, chunk in enumerate(chunks, start=1):
            headers = {}
            if number < len(chunks):
                nxt = f"{API}{BY_ID}{path}?{urlencode({'per_page': 100, 'page': number + 1})}"
                last = f"{API}{BY_ID}{path}?{urlencode({'per_page': 100, 'page': len(chunks)})}"
                headers["Link"] = f'<{nxt}>; rel="next", <{last}>; rel="last"'
            body: Any = {"total_count": len(items), key: chunk} if key else chunk
            where = (REPO_PATH + path, {"per_page": "100"})
            if number > 1:
                where = (BY_ID + path, {"per_page": "100", "page": str(number)})
            self.answer(*where, httpx.Response(200, json=body, headers=headers))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.path, tuple(sorted(request.url.params.multi_items())))
        if key in self.answers:
            return self.answers[key]
        self.unexpected.append(str(request.url))
        return httpx.Response(404, json={"message": "Not Found"})


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[StrictGitHub]:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_test")
    for name in ("GITHUB_RUN_ID", "GITHUB_JOB", "RUNNER_NAME", "GITHUB_SHA", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(name, raising=False)
    fake = StrictGitHub()
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="api.github.com").mock(side_effect=fake)
        yield fake


def run(**settings: Any) -> CheckOutcome:
    doc = load_text(yaml.safe_dump({"checks": [{"type": "github", **settings}]}), "p.yaml")
    (spec,) = parse_checks([Node(doc, ("checks", 0))])
    c = change(repository="acme/shop", commit=SHA, pullRequest=7)
    return CHECKS["github"].run(spec.settings, c, CheckContext(10.0))


def green_runs(n: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "name": f"job-{i}", "status": "completed", "conclusion": "success"}
        for i in range(1, n + 1)
    ]


def review(login: str | None, state: str, at: str, association: str = "MEMBER") -> dict[str, Any]:
    user = {"login": login, "type": "User"} if login else None
    return {
        "id": abs(hash((login, state, at))) % 10**6,
        "user": user,
        "state": state,
        "submitted_at": at,
        "author_association": association,
    }


def comments(n: int) -> list[dict[str, Any]]:
    return [
        review(f"c{i}", "COMMENTED", f"2026-11-01T00:{i // 60:02}:{i % 60:02}Z") for i in range(n)
    ]


def pull_request(fake: StrictGitHub, reviews: list[dict[str, Any]], files: list[str]) -> None:
    fake.answer(
        f"{REPO_PATH}/pulls/7",
        {},
        httpx.Response(200, json={"number": 7, "user": {"login": "author"}, "head": {"sha": SHA}}),
    )
    fake.pages("/pulls/7/reviews", reviews)
    fake.pages("/pulls/7/files", [{"filename": f, "status": "modified"} for f in files])


def commit(fake: StrictGitHub, runs: list[dict[str, Any]], state: str = "success") -> None:
    fake.pages(f"/commits/{SHA}/check-runs", runs, key="check_runs")
    fake.answer(
        f"{REPO_PATH}/commits/{SHA}/status",
        {"per_page": "100"},
        httpx.Response(
            200, json={"state": state, "sha": SHA, "statuses": [{"context": "ci", "state": state}]}
        ),
    )


APPROVED = [review("dana", "APPROVED", "2026-11-02T10:00:00Z")]


def test_a_failed_check_run_on_page_2_blocks(github: StrictGitHub) -> None:
    runs = green_runs(150)
    runs[120] = {"id": 121, "name": "e2e", "status": "completed", "conclusion": "timed_out"}
    commit(github, runs)
    pull_request(github, APPROVED, ["app.py"])
    out = run()
    assert github.unexpected == []
    assert out.status is Status.FAIL
    assert out.message == "check run e2e concluded timed_out"


def test_all_pages_green_passes(github: StrictGitHub) -> None:
    commit(github, green_runs(250))
    pull_request(github, comments(130) + APPROVED, ["app.py"])
    out = run()
    assert github.unexpected == []
    assert out.status is Status.PASS, out.message


def test_an_approval_dismissed_on_page_2_does_not_count(github: StrictGitHub) -> None:
    """li approved an older push (page 1) and approved again; that approval was dismissed
    (page 2): li's latest review is DISMISSED."""
    reviews = [
        review("li", "APPROVED", "2026-11-01T09:00:00Z"),
        *comments(99),
        review("li", "DISMISSED", "2026-11-03T09:00:00Z"),
    ]
    commit(github, green_runs(3))
    pull_request(github, reviews, ["app.py"])
    out = run(minApprovals=1)
    assert github.unexpected == []
    assert out.status is Status.FAIL
    assert "has 0 approving review(s)" in out.message


def test_a_critical_file_on_page_2_needs_more_approvals(github: StrictGitHub) -> None:
    files = [f"src/f{i}.py" for i in range(100)] + ["db/migrations/004.sql"]
    commit(github, green_runs(3))
    pull_request(github, APPROVED, files)
    out = run(criticalPaths=["db/**"], criticalApprovals=2)
    assert github.unexpected == []
    assert out.status is Status.FAIL
    assert "1 approving review(s)" in out.message
    assert "2 needed (touches db/migrations/004.sql)" in out.message


def test_a_review_by_a_deleted_account_is_skipped(github: StrictGitHub) -> None:
    """``user: null`` is allowed by GitHub's schema: the review counts for nobody."""
    commit(github, green_runs(3))
    pull_request(github, [review(None, "APPROVED", "2026-11-02T09:00:00Z"), *APPROVED], ["a"])
    out = run(minApprovals=1)
    assert out.status is Status.PASS, out.message
    assert run(minApprovals=2).status is Status.FAIL


def test_an_outstanding_change_request_blocks(github: StrictGitHub) -> None:
    """GitHub does not merge while a reviewer's latest review requests changes, however many
    others approved; a later approval by the same reviewer clears it."""
    commit(github, green_runs(3))
    reviews = [
        *APPROVED,
        review("li", "APPROVED", "2026-11-02T11:00:00Z"),
        review("sam", "CHANGES_REQUESTED", "2026-11-02T12:00:00Z"),
        review("sam", "COMMENTED", "2026-11-02T13:00:00Z"),  # a comment does not clear it
    ]
    pull_request(github, reviews, ["app.py"])
    out = run(minApprovals=1)
    assert out.status is Status.FAIL
    assert out.message == "pull request #7 has changes requested by sam"


def test_a_later_approval_clears_a_change_request(github: StrictGitHub) -> None:
    commit(github, green_runs(3))
    reviews = [
        review("sam", "CHANGES_REQUESTED", "2026-11-02T12:00:00Z"),
        review("sam", "APPROVED", "2026-11-02T14:00:00Z"),
    ]
    pull_request(github, reviews, ["app.py"])
    assert run(minApprovals=1).status is Status.PASS


# ---- gate's own job ---------------------------------------------------------------------


def actions_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_SHA": SHA,
        "GITHUB_RUN_ID": "555",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_JOB": "gate",
        "RUNNER_NAME": "GitHub Actions 3",
    }.items():
        monkeypatch.setenv(name, value)


def own_and_other_runs() -> list[dict[str, Any]]:
    run_url = "https://github.com/acme/shop/actions/runs/555/job"
    return [
        *green_runs(2),
        {
            "id": 777,
            "name": "gate",
            "status": "in_progress",
            "conclusion": None,
            "details_url": f"{run_url}/9001",
        },
        {
            "id": 778,
            "name": "integration",
            "status": "in_progress",
            "conclusion": None,
            "details_url": f"{run_url}/9002",
        },
    ]


def jobs_page(fake: StrictGitHub) -> None:
    fake.pages(
        "/actions/runs/555/attempts/1/jobs",
        [
            {
                "id": 9001,
                "name": "gate",
                "status": "in_progress",
                "runner_name": "GitHub Actions 3",
                "check_run_url": f"{API}{REPO_PATH}/check-runs/777",
            },
            {
                "id": 9002,
                "name": "integration",
                "status": "in_progress",
                "runner_name": "GitHub Actions 7",
                "check_run_url": f"{API}{REPO_PATH}/check-runs/778",
            },
        ],
        key="jobs",
    )


def test_gates_own_job_is_not_counted_against_it(
    github: StrictGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job on this runner is gate's; another job still running is not."""
    actions_env(monkeypatch)
    commit(github, own_and_other_runs())
    jobs_page(github)
    pull_request(github, APPROVED, ["app.py"])
    out = run()
    assert github.unexpected == []
    assert out.status is Status.FAIL
    assert out.message == "check run integration is in_progress"


def test_without_actions_read_the_job_is_found_by_name(
    github: StrictGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The jobs API answers 403 without ``actions: read``: gate's job is the check run named
    ``GITHUB_JOB`` in this workflow run."""
    actions_env(monkeypatch)
    commit(github, own_and_other_runs())
    github.answer(
        f"{REPO_PATH}/actions/runs/555/attempts/1/jobs",
        {"per_page": "100"},
        httpx.Response(403, json={"message": "Resource not accessible by integration"}),
    )
    pull_request(github, APPROVED, ["app.py"])
    out = run()
    assert out.message == "check run integration is in_progress"


def test_outside_its_own_run_nothing_is_left_out(
    github: StrictGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking a commit whose check runs belong to another workflow run: a job named like
    gate's own still counts."""
    actions_env(monkeypatch)
    monkeypatch.setenv("GITHUB_RUN_ID", "556")
    commit(github, own_and_other_runs())
    pull_request(github, APPROVED, ["app.py"])
    out = run()
    assert github.unexpected == []
    assert out.message == "check run gate is in_progress; check run integration is in_progress"


# ---- which commit's CI --------------------------------------------------------------------


def run_change(**fields: Any) -> CheckOutcome:
    doc = load_text(yaml.safe_dump({"checks": [{"type": "github"}]}), "p.yaml")
    (spec,) = parse_checks([Node(doc, ("checks", 0))])
    c = change(repository="acme/shop", **fields)
    return CHECKS["github"].run(spec.settings, c, CheckContext(10.0))


RED = [{"id": 1, "name": "tests", "status": "completed", "conclusion": "failure"}]


def test_a_pull_request_without_a_commit_is_checked_on_its_head(github: StrictGitHub) -> None:
    """A change naming only its pull request used to be passed on its reviews alone, CI
    unasked ('checks green'): the head commit's red CI now blocks."""
    commit(github, RED)
    pull_request(github, APPROVED, ["app.py"])
    out = run_change(pullRequest=7)
    assert github.unexpected == []
    assert out.status is Status.FAIL
    assert out.message == "check run tests concluded failure"


def test_in_a_pull_request_workflow_ci_is_read_on_the_head_not_the_merge_commit(
    github: StrictGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a pull_request workflow GITHUB_SHA is the test merge commit, which carries no check
    runs; the workflow's jobs (gate's own among them) sit on the pull request's head."""
    actions_env(monkeypatch)
    monkeypatch.setenv("GITHUB_SHA", "c" * 40)
    commit(github, own_and_other_runs())
    jobs_page(github)
    pull_request(github, APPROVED, ["app.py"])
    out = run_change(pullRequest=7)
    assert github.unexpected == []
    assert out.message == "check run integration is in_progress"


def test_a_commit_no_ci_has_reported_on_is_not_green(
    github: StrictGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No check run and no status (CI not started yet, or the wrong commit): nothing says the
    commit is good, so the check fails instead of answering 'checks green'. gate's own job
    alone is no CI either."""
    github.pages(f"/commits/{SHA}/check-runs", [], key="check_runs")
    github.answer(
        f"{REPO_PATH}/commits/{SHA}/status",
        {"per_page": "100"},
        httpx.Response(200, json={"state": "pending", "sha": SHA, "statuses": []}),
    )
    out = run_change(commit=SHA)
    assert github.unexpected == []
    assert out.status is Status.FAIL
    assert out.message == f"no CI has reported on {SHA[:12]}: no check run or status yet"
    actions_env(monkeypatch)
    github.pages(f"/commits/{SHA}/check-runs", own_and_other_runs()[2:3], key="check_runs")
    jobs_page(github)
    assert run_change(commit=SHA).message == out.message


# ---- the oldest httpx gate supports ------------------------------------------------------


@pytest.mark.slow
def test_pagination_under_the_oldest_supported_httpx(tmp_path: Path) -> None:
    """The tests above, in a subprocess whose httpx is the oldest pyproject.toml allows."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.version import Version

    repo = Path(__file__).resolve().parents[2]
    deps = tomllib.loads((repo / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
    [httpx_req] = [Requirement(d) for d in deps if Requirement(d).name == "httpx"]
    [floor] = [s.version for s in httpx_req.specifier if s.operator == ">="]
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--target", str(target), f"httpx=={floor}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(repo)])}
    version = subprocess.run(
        [sys.executable, "-c", "import httpx; print(httpx.__version__)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert Version(version) == Version(floor)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-k",
            "not oldest",
            str(Path(__file__)),
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_a_change_with_neither_commit_nor_pull_request_is_not_passed(
    github: StrictGitHub,
) -> None:
    """With no commit (nor GITHUB_SHA) and no pull request there is nothing to ask GitHub
    about: the check cannot decide, so it never says checks green and reviews sufficient."""
    doc = load_text(yaml.safe_dump({"checks": [{"type": "github"}]}), "p.yaml")
    (spec,) = parse_checks([Node(doc, ("checks", 0))])
    c = change(repository="acme/shop")
    with pytest.raises(GateError, match="neither a commit nor a pull request"):
        CHECKS["github"].run(spec.settings, c, CheckContext(10.0))
    assert github.unexpected == []


def permission(fake: StrictGitHub, login: str, role: str | None) -> None:
    """``GET /repos/{owner}/{repo}/collaborators/{username}/permission``: 200 with
    ``permission`` (admin, write, read, none) and ``role_name``; 404 for a non-collaborator."""
    path = f"{REPO_PATH}/collaborators/{login}/permission"
    if role is None:
        fake.answer(path, {}, httpx.Response(404, json={"message": "Not Found"}))
        return
    legacy = {"maintain": "write", "triage": "read"}.get(role, role)
    body = {"permission": legacy, "role_name": role, "user": {"login": login}}
    fake.answer(path, {}, httpx.Response(200, json=body))


def test_an_approval_from_outside_the_repository_does_not_count(github: StrictGitHub) -> None:
    """Anyone can approve a public repository's pull request (a second account of its author,
    say); GitHub counts only approvals from people with write access, and so does gate: an
    approval counts from an OWNER, MEMBER or COLLABORATOR (the review's required
    author_association), else from whoever has write permission on the repository (a private
    member of the organization, shown as a contributor)."""
    commit(github, green_runs(3))
    outsiders = [
        review("sock-puppet", "APPROVED", "2026-11-02T10:00:00Z", "NONE"),
        review("drive-by", "APPROVED", "2026-11-02T11:00:00Z", "CONTRIBUTOR"),
        review("new", "APPROVED", "2026-11-02T12:00:00Z", "FIRST_TIME_CONTRIBUTOR"),
    ]
    permission(github, "sock-puppet", None)
    permission(github, "drive-by", "read")
    permission(github, "new", "triage")
    pull_request(github, outsiders, ["app.py"])
    out = run(minApprovals=1)
    assert github.unexpected == []
    assert out.status is Status.FAIL
    assert "has 0 approving review(s)" in out.message
    github.pages(
        "/pulls/7/reviews",
        [*outsiders, review("li", "APPROVED", "2026-11-03T09:00:00Z", "COLLABORATOR")],
    )
    assert run(minApprovals=1).status is Status.PASS


PULL = {"number": 7, "user": {"login": "author"}, "head": {"sha": SHA}}


def test_critical_paths_beyond_the_files_github_lists_are_not_ruled_out(
    github: StrictGitHub,
) -> None:
    """GitHub lists at most 3000 files of a pull request ("Responses include a maximum of 3000
    files"); its changed_files says how many there are. A critical file past the list used to
    go unseen, so the pull request needed only minApprovals; now what cannot be listed counts
    as touching the critical paths."""
    commit(github, green_runs(3))
    pull_request(github, APPROVED, [f"src/f{i}.py" for i in range(3000)])
    github.answer(
        f"{REPO_PATH}/pulls/7",
        {},
        httpx.Response(200, json={**PULL, "changed_files": 3001}),
    )
    out = run(criticalPaths=["db/**"], criticalApprovals=2)
    assert github.unexpected == []
    assert out.status is Status.FAIL
    assert out.message.endswith("2 needed (touches 3001 files, more than the 3000 GitHub lists)")


def test_a_file_renamed_out_of_a_critical_path_touches_it(github: StrictGitHub) -> None:
    """A renamed file's entry carries its former name (previous_filename): moving a migration
    out of db/ changes db/."""
    commit(github, green_runs(3))
    pull_request(github, APPROVED, [])
    github.pages(
        "/pulls/7/files",
        [{"filename": "old/001.sql", "previous_filename": "db/001.sql", "status": "renamed"}],
    )
    out = run(criticalPaths=["db/**"], criticalApprovals=2)
    assert out.status is Status.FAIL
    assert out.message.endswith("2 needed (touches db/001.sql)")


def test_a_pull_request_answer_without_its_head_cannot_pass(github: StrictGitHub) -> None:
    """A change naming only its pull request, and GitHub's answer naming no head commit (a
    proxy's cut-down answer): there is no commit to read CI on, so the check cannot decide
    instead of passing on the reviews alone."""
    github.answer(f"{REPO_PATH}/pulls/7", {}, httpx.Response(200, json={"number": 7}))
    with pytest.raises(GateError, match="no head commit"):
        run_change(pullRequest=7)
    assert github.unexpected == []


def test_a_pull_request_closed_without_merging_approves_nothing(github: StrictGitHub) -> None:
    """A change request naming an approved pull request that was closed unmerged (its code
    never reached the branch) used to pass on those approvals. GitHub's pull request has
    state and merged_at."""
    commit(github, green_runs(3))
    pull_request(github, APPROVED, ["app.py"])
    github.answer(
        f"{REPO_PATH}/pulls/7",
        {},
        httpx.Response(200, json={**PULL, "state": "closed", "merged_at": None}),
    )
    out = run()
    assert github.unexpected == []
    assert out.status is Status.FAIL
    assert out.message == (
        "pull request #7 was closed without being merged: its reviews approve nothing that ships"
    )
    merged = {**PULL, "state": "closed", "merged_at": "2026-11-03T10:00:00Z"}
    github.answer(f"{REPO_PATH}/pulls/7", {}, httpx.Response(200, json=merged))
    assert run().status is Status.PASS


def test_a_private_member_with_write_access_is_counted(github: StrictGitHub) -> None:
    """A private member of the organization approves as CONTRIBUTOR; their write permission
    (here through a team: role maintain) makes the approval count."""
    commit(github, green_runs(3))
    pull_request(github, [review("kim", "APPROVED", "2026-11-02T10:00:00Z", "CONTRIBUTOR")], [])
    permission(github, "kim", "maintain")
    assert run(minApprovals=1).status is Status.PASS
    assert github.unexpected == []
