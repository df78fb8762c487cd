"""Misbehaving servers on loopback for the fault suite.

:class:`FaultServer` is an HTTP/1.1 server on ``127.0.0.1`` and a free port that answers
normally (a fixed Prometheus answer, a forward to a real upstream, or any handler) until told
to misbehave — at once, after a number of answers, or on cue from a test:

===============  ===========================================================================
``down``         connection refused: the listener is closed and open connections are cut
``429``/``503``  that status, with ``Retry-After`` when given (also longer than any deadline)
``malformed``    200 with a truncated JSON document
``null-value``   a Prometheus vector whose sample is ``[null, null]``
``deep``         200 with a JSON document nested 100,000 levels deep
``huge``         200 declaring (and sending) a body far over gate's size cap
``huge-stream``  200 without a length, streaming until the client gives up
``drip``         a complete, valid answer sent one byte every ``drip_every`` seconds
``hang-headers`` the status line and headers, then nothing
``hang``         the request is read, then nothing at all
``echo-401``     401 / 500 whose body echoes the request's ``Authorization`` header and the
``echo-500``     credential in it: plain, Base64 and URL-encoded
``echo-400``     Prometheus's ``bad_data`` error echoing the credential 290 characters in,
                 so that a message cut short before it is redacted keeps part of it
``html``         200 with an HTML page (a login portal in front of an API)
===============  ===========================================================================

Every connection runs in a daemon thread that waits on the server's stop event, so nothing
outlives :meth:`FaultServer.close` by more than a fraction of a second, and each connection is
bounded in time (``max_seconds``) whatever it was told to do.

:class:`RuntimeProxy` relays HAProxy's runtime API (one command a connection) and can hold a
command on cue, to stop a driving process exactly between journaling a weight and setting it.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import quote, urlsplit

MODES = (
    "normal",
    "down",
    "429",
    "503",
    "malformed",
    "null-value",
    "deep",
    "huge",
    "huge-stream",
    "drip",
    "hang-headers",
    "hang",
    "echo-401",
    "echo-500",
    "echo-400",
    "html",
)
DEEP = 100_000
HUGE = 64 * 1024 * 1024
_POLL = 0.1
_MAX_REQUEST = 1024 * 1024

PROMETHEUS_OK = json.dumps(
    {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1.7e9, "1"]}]},
    }
).encode()


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic()


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)


Handler = Callable[[Request], Answer]


def prometheus_ok(_request: Request) -> Answer:
    return Answer(200, PROMETHEUS_OK)


def forward_to(upstream: str, timeout: float = 10.0) -> Handler:
    """A handler that relays each request to ``upstream`` (a real server) and its answer back."""
    parts = urlsplit(upstream)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    def handler(request: Request) -> Answer:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            headers = {
                k: v
                for k, v in request.headers.items()
                if k in ("content-type", "accept", "authorization")
            }
            conn.request(request.method, request.path, body=request.body or None, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            kind = resp.getheader("Content-Type") or "application/octet-stream"
            return Answer(resp.status, body, (("Content-Type", kind),))
        finally:
            conn.close()

    return handler


def credential_forms(header: str) -> list[str]:
    """What a careless server echoes of an ``Authorization`` header: the header, the
    credential in it, and both Base64- and URL-encoded."""
    credential = header.split(" ", 1)[1] if " " in header else header
    forms = [header, credential]
    for text in (header, credential):
        forms.append(base64.b64encode(text.encode()).decode())
        forms.append(quote(text, safe=""))
    return forms


class FaultServer:
    """An HTTP server on 127.0.0.1 that misbehaves on cue (see the module docstring)."""

    def __init__(
        self,
        handler: Handler = prometheus_ok,
        *,
        mode: str = "normal",
        drip_every: float = 2.0,
        max_seconds: float = 120.0,
    ) -> None:
        self.handler = handler
        self.drip_every = drip_every
        self.max_seconds = max_seconds
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._mode = "normal"
        self._retry_after: str | None = None
        self._then: tuple[int, str, str | None] | None = None
        self._stop = threading.Event()
        self._down = threading.Event()
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stalled = 0
        self._listener: socket.socket | None = None
        self.port = 0
        self._listen()
        self.set(mode)

    # -- control --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mode(self) -> str:
        with self._lock:
            return self._mode

    def set(
        self,
        mode: str,
        *,
        retry_after: str | None = None,
        after: int = 0,
        then: str | None = None,
        then_retry_after: str | None = None,
    ) -> FaultServer:
        """Misbehave as ``mode`` now; with ``then``, answer ``after`` more requests in ``mode``
        and switch to ``then`` afterwards (``set("normal", after=1, then="down")`` answers
        once, then goes down)."""
        for m in (mode, then):
            if m is not None and m not in MODES:
                raise ValueError(f"unknown mode {m!r}")
        with self._lock:
            self._mode = mode
            self._retry_after = retry_after
            self._then = (after, then, then_retry_after) if then is not None else None
        if mode == "down":
            self._go_down()
        elif self._listener is None:
            self._listen()
        return self

    @property
    def stalled(self) -> int:
        """Connections held right now by ``hang``, ``hang-headers`` or ``drip``."""
        with self._lock:
            return self._stalled

    def wait_stalled(self, timeout: float = 30.0) -> float:
        """Wait until a request is being held; return the time (``time.monotonic()``) it was."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stalled:
                return time.monotonic()
            time.sleep(0.01)
        raise AssertionError(f"no request reached the {self.mode!r} server in {timeout:g}s")

    def close(self) -> None:
        self._stop.set()
        self._go_down()
        for thread in list(self._threads):
            thread.join(2.0)

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- sockets --------------------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(_POLL)
        self.port = int(listener.getsockname()[1])
        self._listener = listener
        self._down.clear()
        thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _go_down(self) -> None:
        self._down.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set() and self._listener is listener:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._conns.add(conn)
                self._threads = [t for t in self._threads if t.is_alive()]
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        began = time.monotonic()
        try:
            reader = _Reader(conn, self._stop, began + self.max_seconds)
            while not self._stop.is_set() and not self._down.is_set():
                request = reader.request()
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                if not self._answer(conn, request, began + self.max_seconds):
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _next_mode(self) -> tuple[str, str | None]:
        with self._lock:
            mode, retry_after = self._mode, self._retry_after
            if self._then is not None:
                left, then, then_retry = self._then
                if left <= 0:
                    self._mode, self._retry_after, self._then = then, then_retry, None
                    mode, retry_after = then, then_retry
                else:
                    self._then = (left - 1, then, then_retry)
        if mode == "down":
            self._go_down()
        return mode, retry_after

    def _answer(self, conn: socket.socket, request: Request, until: float) -> bool:
        """Answer one request as the mode says; False when the connection must end."""
        mode, retry_after = self._next_mode()
        if mode == "down":
            return False
        if mode == "hang":
            self._hold(until)
            return False
        if mode in ("429", "503"):
            headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/plain"),)
            if retry_after is not None:
                headers += (("Retry-After", retry_after),)
            self._send(conn, Answer(int(mode), b"slow down\n", headers))
            return True
        if mode == "malformed":
            self._send(conn, Answer(200, PROMETHEUS_OK[: len(PROMETHEUS_OK) // 2]))
            return True
        if mode == "null-value":
            body = json.dumps(
                {
                    "status": "success",
                    "data": {
                        "resultType": "vector",
                        "result": [{"metric": {}, "value": [None, None]}],
                    },
                }
            ).encode()
            self._send(conn, Answer(200, body))
            return True
        if mode == "deep":
            body = b'{"status":"success","data":' + b"[" * DEEP + b"]" * DEEP + b"}"
            self._send(conn, Answer(200, body))
            return True
        if mode == "huge":
            head = _head(200, (("Content-Type", "application/json"),), HUGE)
            conn.sendall(head)
            return self._stream(conn, HUGE, until)
        if mode == "huge-stream":
            head = _head(200, (("Content-Type", "application/json"),), None)
            conn.sendall(head)
            self._stream(conn, HUGE, until)
            return False
        if mode == "drip":
            answer = self.handler(request)
            whole = _head(answer.status, answer.headers, len(answer.body)) + answer.body
            with self._counting():
                for i in range(len(whole)):
                    conn.sendall(whole[i : i + 1])
                    if self._stop.wait(self.drip_every) or time.monotonic() > until:
                        return False
            return True
        if mode == "hang-headers":
            conn.sendall(_head(200, (("Content-Type", "application/json"),), 100))
            self._hold(until)
            return False
        if mode in ("echo-401", "echo-500"):
            auth = request.headers.get("authorization", "")
            echoed = " | ".join(credential_forms(auth)) if auth else "no credentials"
            body = json.dumps(
                {"status": "error", "errorType": "unauthorized", "error": f"refused {echoed}"}
            ).encode()
            self._send(conn, Answer(int(mode[-3:]), body))
            return True
        if mode == "echo-400":
            auth = request.headers.get("authorization", "")
            credential = credential_forms(auth)[1] if auth else "none"
            error = "parse error: " + "x" * 266 + " " + credential
            refusal = {"status": "error", "errorType": "bad_data", "error": error}
            self._send(conn, Answer(400, json.dumps(refusal).encode()))
            return True
        if mode == "html":
            page = b"<!DOCTYPE html><html><body><h1>Sign in</h1><form></form></body></html>"
            self._send(conn, Answer(200, page, (("Content-Type", "text/html"),)))
            return True
        self._send(conn, self.handler(request))
        return True

    @contextlib.contextmanager
    def _counting(self) -> Iterator[None]:
        with self._lock:
            self._stalled += 1
        try:
            yield
        finally:
            with self._lock:
                self._stalled -= 1

    def _hold(self, until: float) -> None:
        with self._counting():
            while not self._stop.is_set() and not self._down.is_set():
                if self._stop.wait(_POLL) or time.monotonic() > until:
                    return

    def _stream(self, conn: socket.socket, size: int, until: float) -> bool:
        chunk = b" " * 65536
        sent = 0
        while sent < size:
            if self._stop.is_set() or time.monotonic() > until:
                return False
            conn.sendall(chunk)
            sent += len(chunk)
        return True

    @staticmethod
    def _send(conn: socket.socket, answer: Answer) -> None:
        conn.sendall(_head(answer.status, answer.headers, len(answer.body)) + answer.body)


def _head(status: int, headers: tuple[tuple[str, str], ...], length: int | None) -> bytes:
    reason = http.client.responses.get(status, "Unknown")
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers)]
    lines.append(f"Content-Length: {length}" if length is not None else "Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Reader:
    """Reads requests from one connection, giving up when the server stops or time is up."""

    def __init__(self, conn: socket.socket, stop: threading.Event, until: float) -> None:
        self.conn = conn
        self.stop = stop
        self.until = until
        self.buffer = b""
        conn.settimeout(_POLL)

    def _more(self) -> bool:
        while not self.stop.is_set() and time.monotonic() < self.until:
            try:
                chunk = self.conn.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return False
            self.buffer += chunk
            return not len(self.buffer) > _MAX_REQUEST
        return False

    def request(self) -> Request | None:
        while b"\r\n\r\n" not in self.buffer:
            if not self._more():
                return None
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = ([*lines[0].split(" ", 2), "", ""])[:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(self.buffer) < length:
            if not self._more():
                return None
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Request(method, path, headers, body, time.monotonic())


@dataclass
class RuntimeProxy:
    """A relay in front of HAProxy's TCP runtime API that can hold commands on cue.

    ``hold("set server")`` makes every later command starting with that text wait without an
    answer; such a command never reaches HAProxy (its connection is closed on :meth:`release`
    or :meth:`close`), as if the process had died just before sending it. ``held`` counts
    those waiting now.
    """

    upstream: tuple[str, int]
    port: int = 0
    commands: list[str] = field(default_factory=list)
    _hold: str | None = None
    _held: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _release: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _listener: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> RuntimeProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(_POLL)
        self.port = int(listener.getsockname()[1])
        self._listener = listener
        thread = threading.Thread(target=self._accept, daemon=True)
        self._threads.append(thread)
        thread.start()
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def held(self) -> int:
        with self._lock:
            return self._held

    def hold(self, prefix: str) -> None:
        with self._lock:
            self._hold = prefix
            self._release.clear()

    def release(self) -> None:
        with self._lock:
            self._hold = None
            self._release.set()

    def wait_held(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.held:
                return
            time.sleep(0.01)
        raise AssertionError(f"no command was held within {timeout:g}s: {self.commands[-5:]}")

    def close(self) -> None:
        self._stop.set()
        self._release.set()
        if self._listener is not None:
            self._listener.close()
        for thread in self._threads:
            thread.join(2.0)

    def __enter__(self) -> RuntimeProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._relay, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _relay(self, conn: socket.socket) -> None:
        with conn:
            reader = _Reader(conn, self._stop, time.monotonic() + 60)
            while b"\n" not in reader.buffer:
                if not reader._more():
                    return
            line = reader.buffer.split(b"\n", 1)[0].decode("ascii", "replace")
            with self._lock:
                self.commands.append(line)
                hold = self._hold is not None and line.startswith(self._hold)
                if hold:
                    self._held += 1
            if hold:
                try:
                    while not self._release.wait(_POLL):
                        if self._stop.is_set():
                            return
                finally:
                    with self._lock:
                        self._held -= 1
                return
            with socket.create_connection(self.upstream, timeout=5) as up:
                up.sendall(reader.buffer)
                with contextlib.suppress(OSError):
                    while chunk := up.recv(65536):
                        conn.sendall(chunk)
