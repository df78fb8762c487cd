"""Flag providers by name: a flag block's ``provider`` → settings record and factory.

Every settings record has ``.flag`` (the :class:`FlagRef` it names); tokens are read from the
environment when the provider is built.
"""

from __future__ import annotations

from gate.providers.flags.interface import FlagProvider
from gate.providers.flags.settings import (
    FlagdSettings,
    LaunchDarklySettings,
    UnleashSettings,
    WebhookFlagSettings,
)
from gate.providers.registry import Backend, BuildContext
from gate.secrets import reveal


def _unleash(s: UnleashSettings, context: BuildContext) -> FlagProvider:
    from gate.providers.flags.unleash import UnleashProvider

    return UnleashProvider(url=s.url, token=reveal(s.token))


def _launchdarkly(s: LaunchDarklySettings, context: BuildContext) -> FlagProvider:
    from gate.providers.flags.launchdarkly import LaunchDarklyProvider

    return LaunchDarklyProvider(token=reveal(s.token), url=s.url)


def _flagd(s: FlagdSettings, context: BuildContext) -> FlagProvider:
    from gate.providers.flags.flagd import FlagdProvider

    return FlagdProvider(path=s.path)


def _webhook(s: WebhookFlagSettings, context: BuildContext) -> FlagProvider:
    from gate.providers.flags.webhook import WebhookFlagProvider

    headers = {} if s.token is None else {"Authorization": f"Bearer {reveal(s.token)}"}
    return WebhookFlagProvider(url=s.url, headers=headers)


PROVIDERS: dict[str, Backend[FlagProvider]] = {
    "unleash": Backend(UnleashSettings, _unleash),
    "launchdarkly": Backend(LaunchDarklySettings, _launchdarkly),
    "flagd": Backend(FlagdSettings, _flagd),
    "webhook": Backend(WebhookFlagSettings, _webhook),
}
