"""gate.secrets: what is remembered is redacted, in every form a server tends to echo."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from gate.secrets import MASK, SecretRef, redact, reveal


@pytest.mark.parametrize("scheme", ["Bearer", "token", "Token", "ApiKey"])
def test_the_credential_inside_an_authorization_value_is_redacted_alone(
    monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    """``headersEnv: {Authorization: PROM_AUTH}`` holds the whole header value; a server that
    refuses it tends to echo only the credential, plain or encoded."""
    credential = "s3cr3t/T0ken+with=signs"
    monkeypatch.setenv("PROM_AUTH", f"{scheme} {credential}")
    reveal(SecretRef("PROM_AUTH"))
    for form in (
        credential,
        base64.b64encode(credential.encode()).decode(),
        quote(credential, safe=""),
    ):
        assert redact(f"refused: {form}!") == f"refused: {MASK}!"


def test_the_password_inside_a_basic_header_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    pair = "reader:pa55word-long"
    monkeypatch.setenv("PROM_AUTH", "Basic " + base64.b64encode(pair.encode()).decode())
    reveal(SecretRef("PROM_AUTH"))
    assert redact(f"user {pair} refused") == f"user {MASK} refused"
    assert redact("password pa55word-long refused") == f"password {MASK} refused"


def test_ordinary_words_of_a_value_with_spaces_stay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROM_AUTH", "Bearer abcdefgh12345")
    reveal(SecretRef("PROM_AUTH"))
    assert redact("Bearer tokens are refused") == "Bearer tokens are refused"
