"""``type: github``: the commit's check runs and statuses succeeded, and the pull request has
enough approvals from people other than its author (more when it touches critical paths)."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass

from gate.change import ChangeRequest
from gate.checks.interface import CheckContext, CheckOutcome
from gate.config.node import Node, Where
from gate.errors import ConfigError
from gate.secrets import SecretRef, reveal

PASSING = ("success", "neutral", "skipped")
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
    from gate.providers.scm.github import GitHubClient

    repo = settings.repository or change.repository or os.environ.get("GITHUB_REPOSITORY", "")
    sha = change.commit or os.environ.get("GITHUB_SHA", "")
    if not repo or repo.count("/") != 1:
        raise ConfigError(
            "no repository (OWNER/NAME): set it on the change request or the check",
            file=settings.where.file,
            line=settings.where.line,
            field=settings.where.field,
        )
    api = settings.api_url or os.environ.get("GITHUB_API_URL", DEFAULT_API)
    problems: list[str] = []
    with GitHubClient(
        token=reveal(settings.token), repository=repo, api_url=api, timeout=context.timeout
    ) as client:
        if sha:
            for check in client.check_runs(sha):
                if check.status != "completed":
                    problems.append(f"check run {check.name} is {check.status}")
                elif check.conclusion not in PASSING:
                    problems.append(f"check run {check.name} concluded {check.conclusion}")
            state, statuses = client.combined_status(sha)
            if statuses and state != "success":
                failing = [s.context for s in statuses if s.state != "success"]
                problems.append(f"commit status is {state} ({', '.join(failing)})")
        if change.pull_request is not None:
            number = change.pull_request
            author = client.pull_request(number).author
            latest: dict[str, str] = {}
            for review in client.reviews(number):
                if review.login and review.login != author and review.state != "COMMENTED":
                    latest[review.login] = review.state
            approvals = sorted(u for u, st in latest.items() if st == "APPROVED")
            need = settings.min_approvals
            critical: list[str] = []
            if settings.critical_paths:
                files = client.files(number)
                critical = [
                    f for f in files for g in settings.critical_paths if fnmatch.fnmatch(f, g)
                ]
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
