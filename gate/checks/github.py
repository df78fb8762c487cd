"""``type: github``: the commit's check runs and statuses succeeded, and the pull request has
enough approvals from people other than its author (more when it touches critical paths) and
no outstanding request for changes. The commit is the change request's, else the pull
request's head, else ``GITHUB_SHA``; a commit that no check run or status reported on is not
green. A change request with neither a commit (nor ``GITHUB_SHA``) nor a pull request gives
nothing to check: the check cannot run, and fails closed.

Reviews count as GitHub counts them for a merge: each reviewer's latest review that is not a
comment (``APPROVED``, ``CHANGES_REQUESTED`` or ``DISMISSED``); the author's never count, nor
do reviews whose account was deleted (``user: null``), and an approval counts only from
someone who may write to the repository: an owner, member or collaborator by the review's
``author_association``, else by their permission on the repository (a private member of the
organization shows as a contributor). Anyone can approve a public repository's pull request,
and GitHub does not count that either.

When gate runs as a step of a GitHub Actions job on the commit it checks, that job's own check
run is still ``in_progress``; it is left out: the job is found among the run's jobs by
``RUNNER_NAME`` (needs ``actions: read``), else by ``GITHUB_JOB`` as the check run's name
within this workflow run.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.change import ChangeRequest
from gate.checks.interface import CheckContext, CheckOutcome
from gate.config.node import Node, Where
from gate.errors import ConfigError, ProviderError, ProviderRejected
from gate.secrets import SecretRef, reveal

if TYPE_CHECKING:
    from gate.providers.scm.github import CheckRun, GitHubClient

PASSING = ("success", "neutral", "skipped")
COUNTED = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")  # COMMENTED and PENDING do not
TRUSTED = ("OWNER", "MEMBER", "COLLABORATOR")  # whose approvals count
DEFAULT_API = "https://api.github.com"


@dataclass(frozen=True)
class Settings:
    token: SecretRef
    where: Where
    repository: str = ""
    api_url: str = ""
    min_approvals: int = 1
    critical_paths: tuple[str, ...] = ()
    critical_approvals: int = 2

    @classmethod
    def parse(cls, node: Node) -> Settings:
        from gate.checks.registry import settings_keys

        settings_keys(
            node,
            (
                "repository",
                "tokenEnv",
                "apiUrl",
                "minApprovals",
                "criticalPaths",
                "criticalApprovals",
            ),
            "github",
        )
        repository = node.text("repository", "")
        if repository and repository.count("/") != 1:
            raise node["repository"].error(f"{repository!r} is not OWNER/NAME")
        token = (
            node.secret("tokenEnv")
            if node.has("tokenEnv")
            else SecretRef("GITHUB_TOKEN", node.doc.file, node.line, f"{node.field}.tokenEnv")
        )
        return cls(
            token=token,
            where=node.where(),
            repository=repository,
            api_url=node.url("apiUrl", ""),
            min_approvals=node.integer("minApprovals", 1, maximum=100),
            critical_paths=node.strings("criticalPaths", ()),
            critical_approvals=node.integer("criticalApprovals", 2, maximum=100),
        )


def run(settings: Settings, change: ChangeRequest, context: CheckContext) -> CheckOutcome:
    from gate.providers.scm.github import MAX_LISTED_FILES, GitHubClient

    repo = settings.repository or change.repository or os.environ.get("GITHUB_REPOSITORY", "")
    sha = change.commit
    if not repo or repo.count("/") != 1:
        raise ConfigError(
            "no repository (OWNER/NAME): set it on the change request or the check",
            file=settings.where.file,
            line=settings.where.line,
            field=settings.where.field,
        )
    token = reveal(settings.token)
    if not (sha or os.environ.get("GITHUB_SHA")) and change.pull_request is None:
        raise ConfigError(
            "neither a commit nor a pull request to check: set commit or pullRequest on the "
            "change request",
            file=settings.where.file,
            line=settings.where.line,
            field=settings.where.field,
        )
    api = settings.api_url or os.environ.get("GITHUB_API_URL", DEFAULT_API)
    problems: list[str] = []
    with GitHubClient(token=token, repository=repo, api_url=api, timeout=context.timeout) as client:
        pull = client.pull_request(change.pull_request) if change.pull_request else None
        # CI runs on the pull request's head; GITHUB_SHA of a pull_request workflow is a test
        # merge commit that no check run is attached to
        sha = sha or (pull.head_sha if pull else "") or os.environ.get("GITHUB_SHA", "")
        if not sha:
            raise ProviderRejected("GitHub named no head commit for the pull request")
        runs = client.check_runs(sha)
        own = _own_check_runs(client, runs, repo)
        for check in runs:
            if check.status != "completed" and check.id in own:
                continue
            if check.status != "completed":
                problems.append(f"check run {check.name} is {check.status}")
            elif check.conclusion not in PASSING:
                problems.append(f"check run {check.name} concluded {check.conclusion}")
        state, statuses = client.combined_status(sha)
        if statuses and state != "success":
            failing = [s.context for s in statuses if s.state != "success"]
            problems.append(f"commit status is {state} ({', '.join(failing)})")
        if not statuses and all(r.id in own for r in runs):
            problems.append(f"no CI has reported on {sha[:12]}: no check run or status yet")
        if pull is not None:
            number = pull.number
            author = pull.author
            if pull.abandoned:
                problems.append(
                    f"pull request #{number} was closed without being merged: its reviews "
                    "approve nothing that ships"
                )
            latest: dict[str, str] = {}
            reviews = sorted(client.reviews(number), key=lambda r: r.submitted_at)
            trusted: set[str] = set()
            for review in reviews:
                if review.login and review.login != author and review.state in COUNTED:
                    latest[review.login] = review.state
                    if review.association in TRUSTED:
                        trusted.add(review.login)
            approved = [u for u, st in latest.items() if st == "APPROVED"]
            approvals = sorted(u for u in approved if u in trusted or client.can_write(u))
            blocking = sorted(u for u, st in latest.items() if st == "CHANGES_REQUESTED")
            if blocking:
                problems.append(
                    f"pull request #{number} has changes requested by {', '.join(blocking)}"
                )
            need = settings.min_approvals
            critical: list[str] = []
            if settings.critical_paths:
                files = client.files(number)
                critical = [
                    f for f in files for g in settings.critical_paths if fnmatch.fnmatch(f, g)
                ]
                if pull.changed_files > MAX_LISTED_FILES:  # the rest cannot be ruled out
                    critical.append(
                        f"{pull.changed_files} files, more than the {MAX_LISTED_FILES} GitHub lists"
                    )
            if critical:
                need = max(need, settings.critical_approvals)
            if len(approvals) < need:
                why = f" (touches {', '.join(sorted(set(critical))[:5])})" if critical else ""
                problems.append(
                    f"pull request #{number} has {len(approvals)} approving review(s) from "
                    f"people other than its author; {need} needed{why}"
                )
    if problems:
        return CheckOutcome.failed("; ".join(problems))
    return CheckOutcome.passed(f"{repo}@{sha[:7] or '-'}: checks green, reviews sufficient")


def _own_check_runs(client: GitHubClient, runs: list[CheckRun], repo: str) -> set[int]:
    """The check run of the GitHub Actions job gate runs in, when it checks its own commit:
    one of this workflow run's check runs on the commit (a pull_request run's check runs sit
    on the pull request's head, not on ``GITHUB_SHA``)."""
    env = os.environ
    run_id = env.get("GITHUB_RUN_ID", "")
    if (
        env.get("GITHUB_ACTIONS") != "true"
        or not run_id
        or env.get("GITHUB_REPOSITORY", "") != repo
        or not any(f"/actions/runs/{run_id}/" in r.details_url for r in runs)
    ):
        return set()
    runner = env.get("RUNNER_NAME", "")
    if runner:
        try:
            jobs = client.workflow_jobs(run_id, env.get("GITHUB_RUN_ATTEMPT", "1") or "1")
        except ProviderError:
            jobs = []  # no actions: read; fall back to the job's name
        own = {
            j.check_run_id
            for j in jobs
            if j.runner_name == runner and j.status == "in_progress" and j.check_run_id
        }
        if own:
            return own
    job = env.get("GITHUB_JOB", "")
    return {
        r.id for r in runs if job and r.name == job and f"/actions/runs/{run_id}/" in r.details_url
    }
