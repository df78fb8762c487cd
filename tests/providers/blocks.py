"""Provider blocks as a file would hold them, read through the registries' own parsers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.config.loader import Document
from gate.config.node import Node
from gate.providers.flags.registry import PROVIDERS as FLAGS
from gate.providers.registry import Backend, Configured, parse_block


def configured(
    registry: Mapping[str, Backend[Any]], *blocks: Mapping[str, Any], kind: str = "provider"
) -> list[Configured]:
    doc = Document(file="spec.yaml", data={"items": [dict(b) for b in blocks]})
    return [parse_block(registry, Node(doc, ("items", i)), kind) for i in range(len(blocks))]


def flags(*blocks: Mapping[str, Any]) -> list[Configured]:
    return configured(FLAGS, *blocks, kind="flag")
