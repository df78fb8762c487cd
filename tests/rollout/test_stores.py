"""Choosing the state store: a malformed state URL is bad input naming where it came from."""

from __future__ import annotations

import pytest

from gate.errors import ConfigError
from gate.rollout.stores import open_store


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://gate@db.example:notaport/gate", "not a valid URL"),
        ("postgresql://gate@db.example:99999/gate", "not a valid URL"),
        ("postgresql://gate@db.example/gate?colour=blue", "not a valid PostgreSQL URL"),
        ("postgresql://%zz@db.example/gate", "not a valid PostgreSQL URL"),
    ],
)
def test_a_malformed_state_url_is_bad_input_not_a_crash(url: str, problem: str) -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(ConfigError) as caught:
        open_store(url=url)
    assert caught.value.one_line().startswith(f"GATE_STATE_URL: {problem}")
    with pytest.raises(ConfigError) as caught:
        open_store(url=url, on_command_line=True)
    assert caught.value.one_line().startswith(f"--state-url: {problem}")
