"""HAProxyRouter's command order, against a small runtime-API double on a unix socket."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from gate.errors import ProviderRejected
from gate.providers.traffic.haproxy import HAProxyRouter


class RuntimeApi:
    """Answers ``get weight`` and ``set server … weight`` like HAProxy; can refuse one server."""

    def __init__(self, path: str, weights: dict[str, int], refuse: str = "") -> None:
        self.weights = weights
        self.refuse = refuse
        self.log: list[str] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                line = conn.makefile().readline().strip()
                self.log.append(line)
                conn.sendall(self._answer(line).encode())

    def _answer(self, line: str) -> str:
        words = line.split()
        server = words[2].split("/")[1]
        if server == self.refuse and words[0] == "set":
            return (
                "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n"
            )
        if words[0] == "get":
            w = self.weights[server]
            return f"{w} (initial {w})\n"
        self.weights[server] = int(words[4])
        return "\n"


@pytest.fixture
def api_path(tmp_path: Path) -> str:
    return str(tmp_path / "api.sock")


def _router(path: str) -> HAProxyRouter:
    return HAProxyRouter(socket=path, backend="app", stable="stable", canary="canary", timeout=2)


def test_growing_weight_is_set_before_the_shrinking_one(api_path: str) -> None:
    api = RuntimeApi(api_path, {"stable": 100, "canary": 0})
    try:
        router = _router(api_path)
        router.set_canary_weight(100)
        router.set_canary_weight(0)
        sets = [line for line in api.log if line.startswith("set")]
        assert sets == [
            "set server app/canary weight 100",
            "set server app/stable weight 0",
            "set server app/stable weight 100",
            "set server app/canary weight 0",
        ]
    finally:
        api.sock.close()


def test_rollback_still_drains_the_canary_when_stable_refuses(api_path: str) -> None:
    api = RuntimeApi(api_path, {"stable": 70, "canary": 30}, refuse="stable")
    try:
        with pytest.raises(ProviderRejected, match="static LB algorithm"):
            _router(api_path).set_canary_weight(0)
        assert api.weights == {"stable": 70, "canary": 0}
    finally:
        api.sock.close()


def test_a_non_empty_reply_to_set_is_an_error(api_path: str) -> None:
    api = RuntimeApi(api_path, {"stable": 100, "canary": 0}, refuse="canary")
    try:
        with pytest.raises(ProviderRejected, match="set server app/canary weight 5: Backend"):
            _router(api_path).set_canary_weight(5)
        assert api.weights == {"stable": 100, "canary": 0}
    finally:
        api.sock.close()
