"""Notifiers by name: ``spec.notifications[].provider`` → settings record and factory."""

from __future__ import annotations

from gate.providers.notify.interface import Notifier
from gate.providers.notify.settings import (
    PagerDutySettings,
    SlackSettings,
    WebhookNotifySettings,
)
from gate.providers.registry import Backend, BuildContext
from gate.secrets import reveal


def _slack(s: SlackSettings, context: BuildContext) -> Notifier:
    from gate.providers.notify.slack import SlackNotifier

    return SlackNotifier(webhook_url=reveal(s.url))


def _pagerduty(s: PagerDutySettings, context: BuildContext) -> Notifier:
    from gate.providers.notify.pagerduty import PagerDutyNotifier

    return PagerDutyNotifier(routing_key=reveal(s.routing_key), run_id=context.run_id, url=s.url)


def _webhook(s: WebhookNotifySettings, context: BuildContext) -> Notifier:
    from gate.providers.notify.webhook import WebhookNotifier

    return WebhookNotifier(url=s.url, secret=reveal(s.secret))


PROVIDERS: dict[str, Backend[Notifier]] = {
    "slack": Backend(SlackSettings, _slack),
    "pagerduty": Backend(PagerDutySettings, _pagerduty),
    "webhook": Backend(WebhookNotifySettings, _webhook),
}
