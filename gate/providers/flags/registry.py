"""Flag providers by name, built from a spec's flag block; tokens come from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from gate.errors import ConfigError
from gate.providers.flags.interface import FlagProvider, FlagRef

PROVIDERS = ("unleash", "launchdarkly", "flagd", "webhook")


def flag_ref(settings: Mapping[str, Any]) -> FlagRef:
    return FlagRef(
        provider=settings["provider"],
        feature=settings["feature"],
        environment=settings.get("environment", "production"),
        project=settings.get("project", "default"),
    )


def _token(settings: Mapping[str, Any], where: str) -> str:
    var = settings.get("tokenEnv")
    if not var:
        raise ConfigError(f"the {settings['provider']} provider needs tokenEnv", field=where)
    value = os.environ.get(var, "")
    if not value:
        raise ConfigError(f"environment variable {var} is not set", field=f"{where}.tokenEnv")
    return value


def build_flag_provider(settings: Mapping[str, Any], where: str = "flags") -> FlagProvider:
    kind = settings["provider"]
    if kind == "unleash":
        from gate.providers.flags.unleash import UnleashProvider

        if "url" not in settings:
            raise ConfigError("the unleash provider needs url", field=where)
        return UnleashProvider(url=settings["url"], token=_token(settings, where))
    if kind == "launchdarkly":
        from gate.providers.flags.launchdarkly import DEFAULT_URL, LaunchDarklyProvider

        return LaunchDarklyProvider(
            token=_token(settings, where), url=settings.get("url", DEFAULT_URL)
        )
    if kind == "flagd":
        from gate.providers.flags.flagd import FlagdProvider

        if "path" not in settings:
            raise ConfigError("the flagd provider needs path (the flag file)", field=where)
        return FlagdProvider(path=settings["path"])
    if kind == "webhook":
        from gate.providers.flags.webhook import WebhookFlagProvider

        if "url" not in settings:
            raise ConfigError("the webhook provider needs url", field=where)
        headers = (
            {"Authorization": f"Bearer {_token(settings, where)}"}
            if settings.get("tokenEnv")
            else {}
        )
        return WebhookFlagProvider(url=settings["url"], headers=headers)
    raise ConfigError(
        f"unknown flag provider {kind!r}; one of: {', '.join(PROVIDERS)}", field=f"{where}.provider"
    )
