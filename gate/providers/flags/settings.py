"""Typed settings of each feature-flag backend, read from a rollout spec's
``spec.onFailure.flags``, a change request's ``flags`` or a ``gate flags --file`` list."""

from __future__ import annotations

from dataclasses import dataclass

from gate.config.node import Node
from gate.providers.flags.interface import FlagRef
from gate.providers.registry import only_keys
from gate.secrets import SecretRef

_COMMON = ("feature", "environment", "project")


def _ref(provider: str, node: Node) -> FlagRef:
    feature = node.text("feature")
    if not feature.strip():
        raise node["feature"].error("the flag key is empty")
    return FlagRef(
        provider=provider,
        feature=feature,
        environment=node.text("environment", "production"),
        project=node.text("project", "default"),
    )


@dataclass(frozen=True)
class UnleashSettings:
    flag: FlagRef
    url: str
    token: SecretRef

    @classmethod
    def parse(cls, node: Node) -> UnleashSettings:
        only_keys(node, (*_COMMON, "url", "tokenEnv"), "the unleash flag provider")
        return cls(_ref("unleash", node), node.url("url"), node.secret("tokenEnv"))


DEFAULT_LAUNCHDARKLY_URL = "https://app.launchdarkly.com"


@dataclass(frozen=True)
class LaunchDarklySettings:
    flag: FlagRef
    token: SecretRef
    url: str = DEFAULT_LAUNCHDARKLY_URL

    @classmethod
    def parse(cls, node: Node) -> LaunchDarklySettings:
        only_keys(node, (*_COMMON, "url", "tokenEnv"), "the launchdarkly flag provider")
        return cls(
            _ref("launchdarkly", node),
            node.secret("tokenEnv"),
            node.url("url", DEFAULT_LAUNCHDARKLY_URL),
        )


@dataclass(frozen=True)
class FlagdSettings:
    flag: FlagRef
    path: str

    @classmethod
    def parse(cls, node: Node) -> FlagdSettings:
        only_keys(node, (*_COMMON, "path"), "the flagd flag provider")
        path = node.text("path")
        if not path.strip():
            raise node["path"].error("the flag file path is empty")
        return cls(_ref("flagd", node), path)


@dataclass(frozen=True)
class WebhookFlagSettings:
    flag: FlagRef
    url: str
    token: SecretRef | None = None

    @classmethod
    def parse(cls, node: Node) -> WebhookFlagSettings:
        only_keys(node, (*_COMMON, "url", "tokenEnv"), "the webhook flag provider")
        return cls(_ref("webhook", node), node.url("url"), node.optional_secret("tokenEnv"))
