"""GitHub's REST API: check runs and combined status of a commit, a pull request, its reviews
and its files, each list read page by page through ``Link: rel="next"``.

Answers are turned into small records here, and every failure into gate's errors: a
malformed answer is :class:`~gate.errors.ProviderRejected`, never an ``AttributeError``.
Reference: github/rest-api-description (api.github.com), "Using pagination in the REST API".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from gate.errors import ProviderRejected
from gate.providers.http import HttpClient

_NAME = "github"
API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 50
MAX_LISTED_FILES = 3000  # "Responses include a maximum of 3000 files" (list pull request files)


@dataclass(frozen=True)
class CheckRun:
    name: str
    status: str  # queued | in_progress | completed | waiting | requested | pending
    conclusion: str | None
    id: int = 0
    details_url: str = ""


@dataclass(frozen=True)
class WorkflowJob:
    """A job of a GitHub Actions workflow run, and the check run that shows it."""

    id: int
    name: str
    status: str
    runner_name: str
    check_run_id: int


@dataclass(frozen=True)
class CommitStatus:
    context: str
    state: str  # error | failure | pending | success


@dataclass(frozen=True)
class Review:
    login: str | None  # None: the reviewer's account was deleted
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING
    submitted_at: str = ""
    association: str = ""  # OWNER | MEMBER | COLLABORATOR | CONTRIBUTOR | NONE | …


@dataclass(frozen=True)
class PullRequest:
    number: int
    author: str | None
    head_sha: str = ""
    changed_files: int = 0
    abandoned: bool = False  # closed without being merged


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    return value if isinstance(value, str) else ""


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _login(user: object) -> str | None:
    if isinstance(user, dict) and isinstance(user.get("login"), str):
        return str(user["login"])
    return None


class GitHubClient:
    def __init__(
        self,
        *,
        token: str,
        repository: str,
        api_url: str = "https://api.github.com",
        timeout: float = 10.0,
        retries: int = 2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        owner, sep, name = repository.partition("/")
        if not sep or not owner or not name or "/" in name:
            raise ValueError(f"{repository!r} is not OWNER/NAME")
        self._repo = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        self._http = HttpClient(
            _NAME,
            base_url=api_url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
            },
            timeout=timeout,
            retries=retries,
            backoff_initial=0.2,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pages(self, path: str, key: str | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list: the first page with ``per_page``, then each
        ``rel="next"`` URL exactly as GitHub gives it (it carries the page and per_page)."""
        url: str | None = f"{self._repo}{path}"
        params: dict[str, Any] | None = {"per_page": PER_PAGE}
        for _ in range(MAX_PAGES):
            if url is None:
                return
            reply = self._http.request("GET", url, params=params)
            data = reply.json()
            items = data.get(key) if key and isinstance(data, dict) else data
            if not isinstance(items, list):
                raise ProviderRejected(
                    f"{reply.where}: expected a list{f' under {key!r}' if key else ''}",
                    provider=_NAME,
                )
            for item in items:
                if not isinstance(item, dict):
                    raise ProviderRejected(
                        f"{reply.where}: a list item is not an object", provider=_NAME
                    )
                yield item
            url, params = reply.next_link, None
        raise ProviderRejected(
            f"{path}: more than {MAX_PAGES} pages of {PER_PAGE}; refusing to decide on part "
            "of the list",
            provider=_NAME,
        )

    def check_runs(self, sha: str) -> list[CheckRun]:
        return [
            CheckRun(
                name=_text(run, "name"),
                status=_text(run, "status"),
                conclusion=run.get("conclusion")
                if isinstance(run.get("conclusion"), str)
                else None,
                id=_int(run.get("id")),
                details_url=_text(run, "details_url"),
            )
            for run in self._pages(f"/commits/{quote(sha, safe='')}/check-runs", "check_runs")
        ]

    def workflow_jobs(self, run_id: str, attempt: str = "1") -> list[WorkflowJob]:
        """The jobs of one attempt of a workflow run (needs ``actions: read``)."""
        path = f"/actions/runs/{quote(run_id, safe='')}/attempts/{quote(attempt, safe='')}/jobs"
        jobs = []
        for job in self._pages(path, "jobs"):
            check_run = _text(job, "check_run_url").rstrip("/").rpartition("/")[2]
            jobs.append(
                WorkflowJob(
                    id=_int(job.get("id")),
                    name=_text(job, "name"),
                    status=_text(job, "status"),
                    runner_name=_text(job, "runner_name"),
                    check_run_id=int(check_run) if check_run.isdigit() else 0,
                )
            )
        return jobs

    def combined_status(self, sha: str) -> tuple[str, list[CommitStatus]]:
        """The combined state and every status (``/status`` pages its ``statuses`` too)."""
        state = ""
        statuses: list[CommitStatus] = []
        url: str | None = f"{self._repo}/commits/{quote(sha, safe='')}/status"
        params: dict[str, Any] | None = {"per_page": PER_PAGE}
        for _ in range(MAX_PAGES):
            if url is None:
                break
            reply = self._http.request("GET", url, params=params)
            data = reply.json_object()
            state = state or _text(data, "state")
            items = data.get("statuses")
            if not isinstance(items, list):
                raise ProviderRejected(f"{reply.where}: no statuses list", provider=_NAME)
            statuses.extend(
                CommitStatus(_text(s, "context"), _text(s, "state"))
                for s in items
                if isinstance(s, dict)
            )
            url, params = reply.next_link, None
        return state, statuses

    def pull_request(self, number: int) -> PullRequest:
        reply = self._http.request("GET", f"{self._repo}/pulls/{number}")
        data = reply.json_object()
        head = data.get("head")
        return PullRequest(
            number=number,
            author=_login(data.get("user")),
            head_sha=_text(head, "sha") if isinstance(head, dict) else "",
            changed_files=_int(data.get("changed_files")),
            abandoned=data.get("state") == "closed" and not data.get("merged_at"),
        )

    def can_write(self, login: str) -> bool:
        """Whether ``login`` may write to the repository (admin, maintain or write, through a
        team too); someone who is not a collaborator at all (404) may not."""
        path = f"{self._repo}/collaborators/{quote(login, safe='')}/permission"
        reply = self._http.request("GET", path, accept=(404,))
        if reply.status == 404:
            return False
        data = reply.json_object()
        role, permission = _text(data, "role_name"), _text(data, "permission")
        return role in ("admin", "maintain", "write") or permission in ("admin", "write")

    def reviews(self, number: int) -> list[Review]:
        return [
            Review(
                _login(r.get("user")),
                _text(r, "state"),
                _text(r, "submitted_at"),
                _text(r, "author_association"),
            )
            for r in self._pages(f"/pulls/{number}/reviews")
        ]

    def files(self, number: int) -> list[str]:
        """Every path the pull request touches: each file's name and, for a renamed file, its
        former name too. GitHub lists at most :data:`MAX_LISTED_FILES` files."""
        out = []
        for f in self._pages(f"/pulls/{number}/files"):
            out.append(_text(f, "filename"))
            if _text(f, "previous_filename"):
                out.append(_text(f, "previous_filename"))
        return out
