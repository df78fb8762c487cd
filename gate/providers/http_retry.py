"""One HTTP request with retries: exponential backoff, ``Retry-After`` honoured.

Retried: timeouts, refused or broken connections, 5xx and 429 answers. Not retried: any other
answer, which the caller judges. Used by the HTTP providers; imports httpx and tenacity, so only
modules that talk HTTP import it.
"""

from __future__ import annotations

import base64
import email.utils
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
import tenacity

from gate.errors import ConfigError

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Backoff:
    """Retry policy: ``retries`` extra attempts, waits ``initial * 2**n`` capped at ``maximum``."""

    retries: int = 3
    initial: float = 0.5
    maximum: float = 8.0
    retry_after_max: float = 30.0


class _RetryableAnswer(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after_seconds(response)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (delta-seconds or an HTTP date), else ``None``."""
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _retryable_transport_error(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError)


def send(
    request: Callable[[], httpx.Response],
    backoff: Backoff,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """Call ``request`` until it answers something other than 5xx/429 or attempts run out.

    Returns the last response (possibly still 5xx/429); raises the last ``httpx`` transport
    error when every attempt failed to get an answer.
    """

    def attempt() -> httpx.Response:
        response = request()
        if response.status_code in RETRYABLE_STATUS:
            raise _RetryableAnswer(response)
        return response

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableAnswer) and exc.retry_after is not None:
            return min(exc.retry_after, backoff.retry_after_max)
        return float(min(backoff.maximum, backoff.initial * 2 ** (state.attempt_number - 1)))

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(backoff.retries + 1),
        wait=wait,
        retry=tenacity.retry_if_exception(
            lambda e: isinstance(e, _RetryableAnswer) or _retryable_transport_error(e)
        ),
        reraise=True,
        sleep=sleep,
    )
    try:
        return retrying(attempt)
    except _RetryableAnswer as exc:
        return exc.response


def redact_url(url: str) -> str:
    """``url`` without user info or query string, safe to show in messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def describe_transport_error(exc: httpx.HTTPError) -> str:
    """A short reason for a failed exchange that never includes headers or credentials."""
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        detail = str(exc).strip() or "connection failed"
        return f"cannot connect: {detail}"
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


def headers_from_env(
    header_env: Mapping[str, str] | None,
    *,
    bearer_token_env: str | None = None,
    basic_auth_env: tuple[str, str] | None = None,
    field: str = "headers",
) -> dict[str, str]:
    """Build request headers whose values come from environment variables.

    ``header_env`` maps a header name to the *name* of the variable holding its value. A
    missing variable is a ConfigError naming the variable, never its value.
    """
    environ = os.environ

    def value_of(var: str, where: str) -> str:
        value = environ.get(var)
        if value is None or value == "":
            raise ConfigError(f"environment variable {var} is not set", field=where)
        return value

    headers: dict[str, str] = {}
    for header, var in (header_env or {}).items():
        headers[header] = value_of(var, f"{field}.{header}")
    if bearer_token_env is not None:
        headers["Authorization"] = "Bearer " + value_of(bearer_token_env, "bearerTokenEnv")
    if basic_auth_env is not None:
        user = value_of(basic_auth_env[0], "basicAuth.usernameEnv")
        password = value_of(basic_auth_env[1], "basicAuth.passwordEnv")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    return headers
