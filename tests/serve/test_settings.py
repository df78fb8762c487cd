"""gate serve's settings: a malformed Prometheus URL is bad input naming the flag it came from."""

from __future__ import annotations

import pytest

from gate.errors import ConfigError
from gate.serve.settings import ServeSettings


def test_a_bad_prometheus_url_names_the_flag_it_was_given_with() -> None:
    with pytest.raises(ConfigError) as caught:
        ServeSettings(prometheus="prometheus:9090").allowed_prometheus()
    assert caught.value.one_line().startswith("--prometheus: 'prometheus:9090'")
    with pytest.raises(ConfigError) as caught:
        ServeSettings(allow_prometheus=("ftp://metrics",)).allowed_prometheus()
    assert caught.value.one_line().startswith("--allow-prometheus: 'ftp://metrics'")
