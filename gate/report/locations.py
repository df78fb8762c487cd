"""Where a finding's file is, as the tools that read gate's reports want to see it.

Code scanning, workflow-command annotations and test-report tools place a result on a file
by its path relative to the repository root. A finding carries the path the user gave
(relative to the working directory, or absolute); :class:`SourceFiles` turns it into a
repository-relative POSIX path, resolving symlinks first, and reads the lines it points at.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def repository_root(environ: Mapping[str, str], cwd: Path) -> Path:
    """The root that paths are written relative to.

    ``GITHUB_WORKSPACE`` when it names a directory (the checkout in GitHub Actions, and
    ``/github/workspace`` inside a Docker action), else the nearest directory at or above
    ``cwd`` that holds ``.git``, else ``cwd`` itself.
    """
    workspace = environ.get("GITHUB_WORKSPACE", "")
    if workspace and Path(workspace).is_dir():
        return Path(workspace).resolve()
    here = cwd.resolve()
    for directory in (here, *here.parents):
        if (directory / ".git").exists():
            return directory
    return here


class SourceFiles:
    """Paths and lines of the files findings point at, relative to one repository root."""

    def __init__(self, root: Path | None = None, cwd: Path | None = None) -> None:
        self.cwd = (cwd or Path.cwd()).resolve()
        self.root = (root or self.cwd).resolve()
        self._lines: dict[Path, list[str] | None] = {}

    def absolute(self, file: str) -> Path:
        """The file's absolute path with symlinks resolved (``file`` may be relative)."""
        path = Path(file)
        return (path if path.is_absolute() else self.cwd / path).resolve()

    def relative(self, file: str) -> str | None:
        """The file's path relative to the root, with ``/`` separators; ``None`` when the
        file lies outside the root."""
        try:
            rel = self.absolute(file).relative_to(self.root)
        except ValueError:
            return None
        return rel.as_posix()

    def display(self, file: str) -> str:
        """The repository-relative path, or the path as given when it is outside the root."""
        rel = self.relative(file)
        return rel if rel is not None else file

    def line(self, file: str, number: int | None) -> str | None:
        """The text of 1-based line ``number`` of ``file``, or None if it cannot be read."""
        if number is None or number < 1:
            return None
        path = self.absolute(file)
        if path not in self._lines:
            try:
                with path.open(encoding="utf-8", newline="") as fh:
                    self._lines[path] = fh.read().splitlines()
            except (OSError, UnicodeDecodeError):
                self._lines[path] = None
        lines = self._lines[path]
        if lines is None or number > len(lines):
            return None
        return lines[number - 1]


def file_uri(path: Path) -> str:
    """An absolute ``file://`` URI for a directory, ending in ``/`` as SARIF requires of
    base URIs."""
    uri = path.as_uri()
    return uri if uri.endswith("/") else uri + "/"


__all__ = ["SourceFiles", "file_uri", "repository_root"]
