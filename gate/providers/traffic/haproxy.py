"""HAProxy's runtime API: canary share set through the two servers' weights.

A canary share of ``w`` percent sets the canary server's weight to ``w`` and the stable
server's to ``100 - w`` (HAProxy's scale is 0-256). At 0 the canary keeps weight 0 and stays in
the backend, ready for the next rollout. The weight that grows is set before the one that
shrinks, so the backend never has both servers at weight 0 and the share in between stays
between the old and the new value. The socket needs ``level admin``.
"""

from __future__ import annotations

import contextlib
import re
import socket as socketlib
import time

from gate.errors import ProviderError, ProviderRejected, ProviderUnavailable

_NAME = "haproxy"
_GET_WEIGHT = re.compile(r"^\s*(\d+)\s*\(initial\s+(\d+)\)\s*$")
_ARG = re.compile(r"^[A-Za-z0-9_.:\-]+$")
_MAX_REPLY = 1 << 20


class HAProxyRouter:
    """A :class:`~gate.providers.traffic.interface.TrafficRouter` on HAProxy's runtime API.

    Give ``socket`` (a unix socket path) or ``address`` (``host:port`` of a TCP stats socket).
    """

    name = _NAME

    def __init__(
        self,
        *,
        socket: str | None = None,
        address: str | None = None,
        backend: str,
        stable: str,
        canary: str,
        timeout: float = 5.0,
    ) -> None:
        if (socket is None) == (address is None):
            raise ValueError("give exactly one of socket or address")
        for label, value in (("backend", backend), ("stable", stable), ("canary", canary)):
            if not _ARG.match(value):
                raise ValueError(f"{label} {value!r} is not a valid HAProxy name")
        if stable == canary:
            raise ValueError("stable and canary must be different servers")
        self._unix = socket
        self._tcp: tuple[str, int] | None = None
        if address is not None:
            host, sep, port = address.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"address {address!r} is not host:port")
            self._tcp = (host.strip("[]"), int(port))
        self.backend = backend
        self.stable = stable
        self.canary = canary
        self.timeout = timeout

    def describe(self) -> str:
        return (
            f"haproxy {self.backend}/{self.canary} vs {self.backend}/{self.stable}"
            f" via {self._where()}"
        )

    def __repr__(self) -> str:
        return f"HAProxyRouter({self.describe()!r})"

    # -- the protocol -------------------------------------------------------------------------

    def set_canary_weight(self, percent: int) -> None:
        if isinstance(percent, bool) or not 0 <= int(percent) <= 100:
            raise ValueError(f"canary weight {percent!r} is not a percentage 0-100")
        canary_new, stable_new = int(percent), 100 - int(percent)
        canary_old, _ = self.server_weight(self.canary)
        if canary_new >= canary_old:
            self._set_weight(self.canary, canary_new)
            self._set_weight(self.stable, stable_new)
            return
        try:
            self._set_weight(self.stable, stable_new)
        except ProviderError:
            # still take traffic off the canary when stable keeps serving without the raise
            with contextlib.suppress(ProviderError):
                if self.server_weight(self.stable)[0] > 0:
                    self._set_weight(self.canary, canary_new)
            raise
        self._set_weight(self.canary, canary_new)

    def canary_weight(self) -> int | None:
        canary, _ = self.server_weight(self.canary)
        stable, _ = self.server_weight(self.stable)
        total = canary + stable
        if total == 0:
            return 0
        return round(100 * canary / total)

    def close(self) -> None:
        """Nothing to release: every command uses its own short connection."""

    # -- the runtime API ----------------------------------------------------------------------

    def server_weight(self, server: str) -> tuple[int, int]:
        """``(current, initial)`` weight of ``backend/server``, read with ``get weight``."""
        reply = self.command(f"get weight {self.backend}/{server}")
        match = _GET_WEIGHT.match(reply)
        if match is None:
            raise ProviderRejected(
                f"get weight {self.backend}/{server}: {_first_line(reply)}", provider=_NAME
            )
        return int(match.group(1)), int(match.group(2))

    def _set_weight(self, server: str, weight: int) -> None:
        line = f"set server {self.backend}/{server} weight {weight}"
        reply = self.command(line)
        if reply.strip():
            raise ProviderRejected(f"{line}: {_first_line(reply)}", provider=_NAME)

    def command(self, line: str) -> str:
        """Send one command and return HAProxy's whole reply (the server closes after it)."""
        if "\n" in line or ";" in line:
            raise ValueError("one command at a time")
        deadline = time.monotonic() + self.timeout
        try:
            if self._unix is not None:
                conn = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
                conn.settimeout(self.timeout)
                target: str | tuple[str, int] = self._unix
            else:
                assert self._tcp is not None
                conn = socketlib.create_connection(self._tcp, timeout=self.timeout)
                target = self._tcp
            with conn:
                if self._unix is not None:
                    conn.connect(target)
                conn.sendall(line.encode("ascii") + b"\n")
                chunks: list[bytes] = []
                size = 0
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError
                    conn.settimeout(remaining)
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > _MAX_REPLY:
                        raise ProviderRejected(f"{line}: reply too large", provider=_NAME)
        except TimeoutError as exc:
            raise ProviderUnavailable(
                f"{line}: no complete reply from {self._where()} within {self.timeout:g}s",
                provider=_NAME,
            ) from exc
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ProviderUnavailable(
                f"{line}: cannot reach the runtime API at {self._where()}: {reason}",
                provider=_NAME,
            ) from exc
        text = b"".join(chunks).decode("utf-8", errors="replace")
        if "permission denied" in text.lower():
            raise ProviderRejected(
                f"{line}: permission denied; the stats socket needs 'level admin'",
                provider=_NAME,
            )
        return text

    def _where(self) -> str:
        if self._unix is not None:
            return self._unix
        assert self._tcp is not None
        return f"{self._tcp[0]}:{self._tcp[1]}"


def _first_line(reply: str) -> str:
    for line in reply.splitlines():
        if line.strip():
            return line.strip()
    return "(empty reply)"
