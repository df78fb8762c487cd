"""Typed settings of each traffic backend, read from a rollout spec's ``spec.traffic``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gate.config.node import Node
from gate.providers.registry import only_keys
from gate.secrets import SecretRef

_HAPROXY_NAME = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")
PLACEHOLDERS = ("weight", "stable_weight", "service")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class HAProxySettings:
    backend: str
    stable: str
    canary: str
    socket: str | None = None
    address: tuple[str, int] | None = None
    timeout: float = 5.0

    @classmethod
    def parse(cls, node: Node) -> HAProxySettings:
        only_keys(
            node,
            ("socket", "address", "backend", "stable", "canary", "timeout"),
            "the haproxy traffic provider",
        )
        names = {}
        for key in ("backend", "stable", "canary"):
            value = node.text(key)
            if not _HAPROXY_NAME.fullmatch(value):
                raise node[key].error(f"{value!r} is not a valid HAProxy name")
            names[key] = value
        if names["stable"] == names["canary"]:
            raise node["canary"].error("stable and canary must be different servers")
        if node.has("socket") == node.has("address"):
            raise node.error("give exactly one of socket (a path) or address (host:port)")
        address = None
        if node.has("address"):
            host, sep, port = node.text("address").rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise node["address"].error(f"{node.text('address')!r} is not host:port")
            address = (host.strip("[]"), int(port))
        return cls(
            backend=names["backend"],
            stable=names["stable"],
            canary=names["canary"],
            socket=node.text("socket", None),
            address=address,
            timeout=node.duration("timeout", 5.0, minimum=0.1, maximum=300),
        )


def _argv(node: Node, key: str) -> tuple[str, ...]:
    argv = node.strings(key, min_items=1)
    for i, arg in enumerate(argv):
        for name in _PLACEHOLDER.findall(arg):
            if name not in PLACEHOLDERS:
                raise node[key].error(
                    f"unknown placeholder {{{{ {name} }}}}; use one of "
                    + ", ".join(f"{{{{ {p} }}}}" for p in PLACEHOLDERS),
                    i,
                )
    return tuple(argv)


@dataclass(frozen=True)
class CommandSettings:
    set_argv: tuple[str, ...]
    get_argv: tuple[str, ...] | None = None
    timeout: float = 60.0

    @classmethod
    def parse(cls, node: Node) -> CommandSettings:
        only_keys(node, ("set", "get", "timeout"), "the command traffic provider")
        return cls(
            set_argv=_argv(node, "set"),
            get_argv=_argv(node, "get") if node.has("get") else None,
            timeout=node.duration("timeout", 60.0, minimum=0.1, maximum=3600),
        )


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """Split an RFC 6901 JSON pointer (``""`` is the whole document); ValueError if invalid."""
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise ValueError(f"JSON pointer {pointer!r} must start with '/'")
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/"))


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    read_url: str | None = None
    read_pointer: tuple[str, ...] = ("weight",)
    headers: tuple[tuple[str, SecretRef], ...] = ()
    timeout: float = 10.0

    @classmethod
    def parse(cls, node: Node) -> WebhookSettings:
        only_keys(
            node,
            ("url", "readUrl", "readPointer", "headersEnv", "timeout"),
            "the webhook traffic provider",
        )
        try:
            pointer = parse_pointer(node.text("readPointer", "/weight"))
        except ValueError as exc:
            raise node["readPointer"].error(str(exc)) from None
        return cls(
            url=node.url("url"),
            read_url=node.url("readUrl", None),
            read_pointer=pointer,
            headers=node.secret_map("headersEnv"),
            timeout=node.duration("timeout", 10.0, minimum=0.1, maximum=300),
        )


@dataclass(frozen=True)
class DryRunSettings:
    @classmethod
    def parse(cls, node: Node) -> DryRunSettings:
        only_keys(node, (), "the dryrun traffic provider")
        return cls()
