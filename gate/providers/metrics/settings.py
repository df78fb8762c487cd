"""Typed settings of each metrics backend, read from a rollout spec's ``spec.metrics``."""

from __future__ import annotations

from dataclasses import dataclass

from gate.config.node import Node
from gate.providers.registry import only_keys
from gate.secrets import SecretRef


@dataclass(frozen=True)
class PrometheusSettings:
    url: str
    timeout: float = 10.0
    headers: tuple[tuple[str, SecretRef], ...] = ()

    @classmethod
    def parse(cls, node: Node) -> PrometheusSettings:
        only_keys(node, ("url", "timeout", "headersEnv"), "the prometheus metrics provider")
        return cls(
            url=node.url("url"),
            timeout=node.duration("timeout", 10.0, minimum=0.5, maximum=300),
            headers=node.secret_map("headersEnv"),
        )
