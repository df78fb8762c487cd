"""Typed settings of each notifier, read from a rollout spec's ``spec.notifications``."""

from __future__ import annotations

from dataclasses import dataclass

from gate.config.node import Node
from gate.providers.notify.interface import EventKind
from gate.providers.registry import only_keys
from gate.secrets import SecretRef


def _events(node: Node) -> frozenset[EventKind] | None:
    if not node.has("events"):
        return None
    names = node.strings("events", min_items=1)
    out = set()
    for i, name in enumerate(names):
        try:
            out.add(EventKind(name))
        except ValueError:
            options = ", ".join(k.value for k in EventKind)
            raise node["events"].error(f"{name!r} is not one of: {options}", i) from None
    return frozenset(out)


@dataclass(frozen=True)
class SlackSettings:
    url: SecretRef
    events: frozenset[EventKind] | None = None

    @classmethod
    def parse(cls, node: Node) -> SlackSettings:
        only_keys(node, ("urlEnv", "events"), "the slack notifier")
        return cls(node.secret("urlEnv"), _events(node))


PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


@dataclass(frozen=True)
class PagerDutySettings:
    routing_key: SecretRef
    url: str = PAGERDUTY_EVENTS_URL
    events: frozenset[EventKind] | None = None

    @classmethod
    def parse(cls, node: Node) -> PagerDutySettings:
        only_keys(node, ("routingKeyEnv", "url", "events"), "the pagerduty notifier")
        return cls(
            node.secret("routingKeyEnv"), node.url("url", PAGERDUTY_EVENTS_URL), _events(node)
        )


@dataclass(frozen=True)
class WebhookNotifySettings:
    url: str
    secret: SecretRef
    events: frozenset[EventKind] | None = None

    @classmethod
    def parse(cls, node: Node) -> WebhookNotifySettings:
        only_keys(node, ("url", "secretEnv", "events"), "the webhook notifier")
        return cls(node.url("url"), node.secret("secretEnv"), _events(node))
