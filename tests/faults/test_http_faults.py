"""gate's one HTTP client (through the Prometheus provider that uses it) against a misbehaving
server: every fault is a ProviderError within the deadline — never a crash, never a hang, never
a value, and never a token in a message."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from gate.errors import ProviderError, ProviderRejected, ProviderUnavailable
from gate.providers.metrics.prometheus import PrometheusProvider
from gate.secrets import SecretRef, reveal
from tests.faults.server import FaultServer, credential_forms

pytestmark = pytest.mark.integration

DEADLINE = 1.0
SLACK = 1.5  # scheduling on a busy 2-core machine; the figures are in benchmarks/faults


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer(drip_every=2.0, max_seconds=30) as s:
        yield s


def _query(server: FaultServer, **kw: object) -> tuple[BaseException | None, float]:
    with PrometheusProvider(server.url, timeout=DEADLINE, **kw) as provider:  # type: ignore[arg-type]
        began = time.monotonic()
        try:
            provider.query("up")
        except Exception as exc:
            return exc, time.monotonic() - began
        return None, time.monotonic() - began


def test_a_normal_answer_is_a_value(server: FaultServer) -> None:
    with PrometheusProvider(server.url, timeout=DEADLINE) as provider:
        assert [s.value for s in provider.query("up").samples] == [1.0]


@pytest.mark.parametrize(
    ("mode", "retry_after", "error", "words"),
    [
        ("down", None, ProviderUnavailable, "cannot connect"),
        ("429", None, ProviderUnavailable, "HTTP 429"),
        ("503", None, ProviderUnavailable, "HTTP 503"),
        ("malformed", None, ProviderRejected, "not JSON"),
        ("null-value", None, ProviderRejected, "unexpected sample time None"),
        ("deep", None, ProviderRejected, "not JSON"),
        ("huge", None, ProviderRejected, "bytes, more than"),
        ("huge-stream", None, ProviderRejected, "more than"),
        ("drip", None, ProviderUnavailable, "timed out"),
        ("hang-headers", None, ProviderUnavailable, "timed out"),
        ("hang", None, ProviderUnavailable, "timed out"),
        ("html", None, ProviderRejected, "not JSON (HTTP 200, text/html"),
    ],
)
def test_every_fault_is_a_provider_error_within_the_deadline(
    server: FaultServer, mode: str, retry_after: str | None, error: type[Exception], words: str
) -> None:
    server.set(mode, retry_after=retry_after)
    exc, seconds = _query(server)
    assert isinstance(exc, error), repr(exc)
    assert words in str(exc)
    assert seconds < DEADLINE + SLACK


def test_retry_after_longer_than_the_deadline_is_not_waited_for(server: FaultServer) -> None:
    for status in ("429", "503"):
        server.set(status, retry_after="3600")
        before = len(server.requests)
        exc, seconds = _query(server)
        assert isinstance(exc, ProviderUnavailable), repr(exc)
        assert len(server.requests) - before == 1  # no second try: it could not fit
        assert seconds < SLACK
    server.set("503", retry_after="Wed, 21 Oct 2099 07:28:00 GMT")
    exc, seconds = _query(server)
    assert isinstance(exc, ProviderUnavailable)
    assert seconds < SLACK


def test_retry_after_within_the_deadline_is_honoured(server: FaultServer) -> None:
    server.set("429", retry_after="1", after=1, then="normal")
    with PrometheusProvider(server.url, timeout=4.0) as provider:
        began = time.monotonic()
        assert provider.query("up").samples[0].value == 1.0
        waited = time.monotonic() - began
    first, second = server.requests[-2:]
    assert second.at - first.at >= 0.95
    assert waited < 4.0


def test_answers_once_then_goes_down(server: FaultServer) -> None:
    server.set("normal", after=1, then="down")
    with PrometheusProvider(server.url, timeout=DEADLINE) as provider:
        assert provider.query("up").samples[0].value == 1.0
        with pytest.raises(ProviderUnavailable, match="cannot connect"):
            provider.query("up")


@pytest.mark.parametrize("mode", ["echo-401", "echo-500", "echo-400"])
@pytest.mark.parametrize("shape", ["Bearer ", ""])
def test_an_echoed_token_never_reaches_a_message(
    server: FaultServer, monkeypatch: pytest.MonkeyPatch, mode: str, shape: str
) -> None:
    """The header comes whole from the environment (``headersEnv``), as users write it; the
    server echoes it, the credential inside it, and both encoded."""
    token = "gl-" + "s3cr3t/T0ken+with=signs"
    monkeypatch.setenv("PROM_AUTH", shape + token)
    header = reveal(SecretRef("PROM_AUTH"))
    server.set(mode)
    exc, _ = _query(server, headers={"Authorization": header}, retries=0)
    assert isinstance(exc, ProviderError), repr(exc)
    echoed = server.requests[-1].headers["authorization"]
    assert echoed == header
    message = str(exc)
    for form in credential_forms(header):
        assert form not in message, (form, message)
    credential = credential_forms(header)[1]
    pieces = {credential[i : i + 6] for i in range(len(credential) - 5)}
    assert [p for p in pieces if p in message] == []  # not even a part of it
    if mode == "echo-500":
        assert "***" in message  # the echo was there, and taken out
