"""A failed Flagger canary turns its kill switches off in a real Unleash, through the real
``gate serve`` process (Flagger's ``event`` and ``post-rollout`` payloads with phase Failed)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import unleash
from tests.integration.unleash import UnleashServer
from tests.serve.process import ServerProcess

pytestmark = pytest.mark.integration

TOKEN = "unleash-hook-token-5d0e"


def enabled(server: UnleashServer, name: str) -> bool:
    data = server.admin("GET", f"/api/admin/projects/default/features/{name}")
    return bool({e["name"]: e["enabled"] for e in data["environments"]}["production"])


def payload(phase: str) -> dict[str, Any]:
    return {"name": "podinfo", "namespace": "test", "phase": phase, "checksum": "abc",
            "metadata": {"token": TOKEN, "eventType": "Warning"}}  # fmt: skip


def test_failed_canary_turns_its_flags_off(unleash: UnleashServer, tmp_path: Path) -> None:
    names = [f"podinfo-ui-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for name in names:
        unleash.create_feature(name)
        unleash.admin(
            "POST", f"/api/admin/projects/default/features/{name}/environments/production/on"
        )
    config = tmp_path / "kill-switches.yaml"
    flags = "".join(
        f"    - {{provider: unleash, url: {unleash.url}, feature: {n}, tokenEnv: UNLEASH_TOKEN}}\n"
        for n in names
    )
    config.write_text(f"canaries:\n  test/podinfo:\n{flags}")
    env = {"UNLEASH_TOKEN": unleash.token, "GATE_SERVE_FLAGGER_TOKEN": TOKEN}
    with ServerProcess(tmp_path, "--kill-switches", str(config), token="main-token", env=env) as s:
        url = f"{s.url}/v1/flagger"
        r = httpx.post(f"{url}/event", json=payload("Progressing"), timeout=30)
        assert (r.status_code, r.json()["reason"]) == (200, "nothing to do in phase Progressing")
        assert all(enabled(unleash, n) for n in names)
        r = httpx.post(f"{url}/event", json=payload("Failed"), timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["reason"] == "turned off 2 flag(s)"
        assert not any(enabled(unleash, n) for n in names)
        r = httpx.post(f"{url}/post-rollout", json=payload("Failed"), timeout=30)
        assert r.status_code == 200  # again: idempotent
        assert unleash.token not in s.text()
    assert not any(enabled(unleash, n) for n in names)


__all__ = ["unleash"]
