"""A request body becomes a located document, and bad input becomes an answer.

The body is read by gate's own loader under the file name ``<request>``, so a mistake in it is
reported exactly as ``gate check`` reports a mistake in a file: ``<request>:LINE: field: what
is wrong``. JSON is expected; YAML (a superset) is read too.
"""

from __future__ import annotations

from gate.config.loader import Document, PathKey, load_text
from gate.errors import ConfigError, ConfigErrors

BODY = "<request>"


class RequestProblem(Exception):
    """The request cannot be answered as asked: an HTTP status and gate's one-line messages."""

    def __init__(self, status: int, lines: list[str]) -> None:
        super().__init__(lines[0] if lines else str(status))
        self.status = status
        self.lines = lines

    def as_dict(self) -> dict[str, object]:
        return {"error": self.lines[0], "errors": self.lines}


def lines_of(exc: ConfigError) -> list[str]:
    return exc.lines() if isinstance(exc, ConfigErrors) else [exc.one_line()]


def invalid(exc: ConfigError) -> RequestProblem:
    """A well-formed body whose content is wrong: 422."""
    return RequestProblem(422, lines_of(exc))


def parse_body(raw: bytes, file: str = BODY) -> Document:
    """``raw`` as a document; unreadable text or a syntax error is a 400."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RequestProblem(400, [f"{file}:{line}: not UTF-8 text"]) from None
    try:
        return load_text(text, file)
    except ConfigError as exc:
        raise RequestProblem(400, lines_of(exc)) from None


def sub_document(doc: Document, key: str) -> Document:
    """The value under ``key`` as a document of its own, keeping the body's line numbers."""
    prefix: PathKey = (key,)
    lines = {path[1:]: line for path, line in doc.lines.items() if path[:1] == prefix}
    return Document(file=doc.file, data=doc.data[key], lines=lines)
