"""The one HTTP client of gate's providers: a total deadline, a bounded body, retries within
that deadline, and one mapping from HTTP status to gate's errors.

* **Deadline.** Every call has one deadline that covers connecting, sending, the headers, the
  body and every retry. It is enforced on each socket operation (each read waits at most for
  the time left), so a server that drips a byte every few seconds, or sends headers and then
  nothing, ends the call on time instead of holding gate forever.
* **Size.** A body larger than ``max_body`` bytes is refused while it is read.
* **Retries.** Timeouts, refused or broken connections, 429 and 5xx answers are retried with
  exponential backoff; ``Retry-After`` is honoured only while it fits in the deadline.
* **Errors.** :func:`status_error` is the only place an HTTP status becomes a
  :class:`~gate.errors.ProviderError`: 429/5xx and transport failures are
  :class:`~gate.errors.ProviderUnavailable`, anything else outside 2xx is
  :class:`~gate.errors.ProviderRejected`. Messages name the URL without credentials or query
  and pass through :func:`gate.secrets.redact`, so a token a server echoes is never printed.

Imports httpx: only modules that talk HTTP import this one.
"""

from __future__ import annotations

import contextvars
import email.utils
import json
import ssl
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx

from gate.errors import ProviderError, ProviderRejected, ProviderUnavailable
from gate.secrets import redact

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_BODY = 8 * 1024 * 1024
_CHUNK = 65536

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "gate_http_deadline", default=None
)


# -- the deadline, at the socket ---------------------------------------------------------------


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` capped by the time left before the current call's deadline."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._stream.start_tls(
                ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)
            )
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(
            path, _left(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _transport(verify: ssl.SSLContext | bool) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(verify=verify, trust_env=False)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
        max_connections=10,
        max_keepalive_connections=10,
        keepalive_expiry=5.0,
        network_backend=_DeadlineBackend(),
    )
    return transport


@contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Bound every socket operation inside the block by one deadline ``seconds`` from now."""
    at = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(at if outer is None else min(at, outer))
    try:
        yield at
    finally:
        _deadline.reset(token)


# -- answers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A whole, bounded answer."""

    status: int
    headers: httpx.Headers
    body: bytes
    where: str  # method and URL without credentials or query, for messages
    provider: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; anything else (HTML, truncated, absurdly deep) is
        ProviderRejected, never a crash."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError, UnicodeDecodeError):
            kind = self.headers.get("content-type", "").split(";")[0].strip() or "unknown"
            raise ProviderRejected(
                f"{self.where}: the answer is not JSON (HTTP {self.status}, {kind}: "
                f"{snippet(self.text, 80)!r})",
                provider=self.provider,
            ) from None

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise ProviderRejected(
                f"{self.where}: expected a JSON object, got {type(data).__name__}",
                provider=self.provider,
            )
        return data

    @property
    def next_link(self) -> str | None:
        """The ``Link: <…>; rel="next"`` URL (GitHub's pagination), if any."""
        if "link" not in self.headers:
            return None
        links = httpx.Response(self.status, headers=self.headers).links
        url = links.get("next", {}).get("url")
        return str(url) if url else None


def redact_url(url: str) -> str:
    """``url`` without user info or query string, safe to show in messages."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:
        return "<invalid URL>"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def snippet(text: str, limit: int = 200) -> str:
    text = redact(" ".join(text.split()))
    return text[:limit] + ("…" if len(text) > limit else "")


def default_error_detail(reply: Reply) -> str:
    """What an error answer says: a JSON ``error``/``message`` field, else the body's start."""
    try:
        body = json.loads(reply.body) if reply.body.lstrip()[:1] in (b"{",) else None
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("errorType", "error", "message") if body.get(k)]
        if parts:
            return snippet(": ".join(parts))
    return snippet(reply.text)


def status_error(status: int, where: str, provider: str, detail: str = "") -> ProviderError | None:
    """The error an HTTP ``status`` means, or None for 2xx: the one mapping gate uses."""
    tail = f": {detail}" if detail and not detail.startswith(" (") else detail
    if 200 <= status < 300:
        return None
    if status in RETRYABLE_STATUS:
        return ProviderUnavailable(f"{where}: HTTP {status}{tail}", provider=provider)
    if status in (401, 403):
        return ProviderRejected(
            f"{where}: the credentials were refused (HTTP {status})", provider=provider
        )
    if status == 404:
        return ProviderRejected(f"{where}: not found (HTTP 404)", provider=provider)
    if 300 <= status < 400:
        return ProviderRejected(
            f"{where}: HTTP {status} redirect; point the URL at the API itself",
            provider=provider,
        )
    return ProviderRejected(f"{where}: HTTP {status}{tail}", provider=provider)


def describe_transport_error(exc: BaseException) -> str:
    """A short reason for a failed exchange that never includes headers or credentials."""
    if isinstance(exc, httpx.TimeoutException):
        return "no complete answer in time"
    if isinstance(exc, httpx.ConnectError):
        detail = redact(str(exc).strip()) or "connection failed"
        return f"cannot connect: {detail}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server broke the protocol or closed the connection"
    return redact(f"{type(exc).__name__}: {exc}".rstrip(": "))


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), else None."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    if raw.isdigit() and len(raw) < 10:
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# -- the client --------------------------------------------------------------------------------


class HttpClient:
    """One provider's connection to one server.

    ``timeout`` is the total deadline of each :meth:`request`, retries included. ``headers``
    are already-resolved values (see :func:`gate.secrets.reveal`) and never appear in messages.
    TLS certificates are always verified (``ca_file`` adds a CA); redirects are not followed.
    """

    def __init__(
        self,
        provider: str,
        *,
        base_url: str = "",
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        max_body: int = MAX_BODY,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        ca_file: str | None = None,
        error_detail: Callable[[Reply], str] | None = None,
    ) -> None:
        if retries < 0 or timeout <= 0:
            raise ValueError("retries must be >= 0 and timeout positive")
        self.provider = provider
        self.timeout = timeout
        self.retries = retries
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_body = max_body
        self._sleep = sleep
        self._detail = error_detail or default_error_detail
        verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            verify = ssl.create_default_context(cafile=ca_file)
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") if base_url else "",
            headers=dict(headers or {}),
            timeout=httpx.Timeout(timeout),
            transport=transport if transport is not None else _transport(verify),
            verify=verify,
            follow_redirects=False,
            trust_env=False,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def where(self, method: str, url: str) -> str:
        full = url if "://" in url else f"{self._client.base_url}{url}" if url else ""
        return f"{method} {redact_url(str(full or self._client.base_url))}"

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        accept: Collection[int] = (),
        timeout: float | None = None,
    ) -> Reply:
        """Send one request, retrying what can be retried until the deadline; return the
        answer when it is 2xx or in ``accept``, else raise the error its status means."""
        budget = self.timeout if timeout is None else min(timeout, self.timeout)
        where = self.where(method, url)
        attempts = 0
        last: ProviderError
        with deadline(budget) as at:
            while True:
                attempts += 1
                wait: float | None = None
                try:
                    reply = self._once(
                        method, url, where, params, json_body, form, content, headers
                    )
                except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                    raise ProviderRejected(
                        f"{where}: {redact(str(exc))}", provider=self.provider
                    ) from exc
                except (
                    httpx.TimeoutException,
                    httpx.NetworkError,
                    httpx.RemoteProtocolError,
                    httpcore.TimeoutException,
                ) as exc:
                    problem = describe_transport_error(exc)
                    if isinstance(exc, httpx.TimeoutException | httpcore.TimeoutException):
                        problem = f"timed out waiting for a complete answer (deadline {budget:g}s)"
                    last = ProviderUnavailable(
                        f"{where}: {problem}{_tries(attempts)}", provider=self.provider
                    )
                    last.__cause__ = exc
                    if time.monotonic() >= at:
                        raise last from exc
                except httpx.HTTPError as exc:
                    raise ProviderUnavailable(
                        f"{where}: {describe_transport_error(exc)}", provider=self.provider
                    ) from None
                else:
                    if reply.status in accept:
                        return reply
                    detail = self._detail(reply)
                    error = status_error(reply.status, where, self.provider, detail)
                    if error is None:
                        return reply
                    if reply.status not in RETRYABLE_STATUS:
                        raise error
                    last = (
                        status_error(reply.status, where, self.provider, detail + _tries(attempts))
                        or error
                    )
                    wait = retry_after_seconds(reply.headers)
                if attempts > self.retries:
                    raise last
                if wait is None:
                    wait = min(self.backoff_max, self.backoff_initial * 2 ** (attempts - 1))
                if time.monotonic() + wait >= at:
                    raise last
                self._sleep(wait)

    def _once(
        self,
        method: str,
        url: str,
        where: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        form: Mapping[str, str] | None,
        content: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> Reply:
        at = _deadline.get()
        left = self.timeout if at is None else max(0.001, at - time.monotonic())
        request = self._client.build_request(
            method,
            url,
            params=params,
            json=json_body,
            data=form,
            content=content,
            headers=headers,
            timeout=httpx.Timeout(left),
        )
        response = self._client.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_body:
                raise ProviderRejected(
                    f"{where}: the answer is {int(declared)} bytes, more than {self.max_body}",
                    provider=self.provider,
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes(_CHUNK):
                size += len(chunk)
                if size > self.max_body:
                    raise ProviderRejected(
                        f"{where}: the answer is more than {self.max_body} bytes",
                        provider=self.provider,
                    )
                chunks.append(chunk)
                if at is not None and time.monotonic() > at:
                    raise httpx.ReadTimeout("the deadline passed", request=request)
        finally:
            response.close()
        return Reply(response.status_code, response.headers, b"".join(chunks), where, self.provider)


def _tries(attempts: int) -> str:
    return f" (after {attempts} attempts)" if attempts > 1 else ""
