"""Notifiers against their documented request shapes, and the dispatcher that never blocks."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import respx

from gate.providers.notify.dispatch import Dispatcher
from gate.providers.notify.interface import Event, EventKind
from gate.providers.notify.pagerduty import PagerDutyNotifier
from gate.providers.notify.settings import PAGERDUTY_EVENTS_URL as EVENTS_URL
from gate.providers.notify.slack import SlackNotifier
from gate.providers.notify.webhook import WebhookNotifier, signature
from gate.rollout.events import EventKind as RolloutKind
from gate.rollout.events import RolloutEvent
from gate.rollout.notifications import RolloutNotifier

HOOK = "https://hooks.slack.com/services/T000/B000/XXXX"


def event(kind: EventKind) -> Event:
    return Event(kind=kind, rollout="checkout", service="checkout", message="m", weight=5, stage=2)


@respx.mock
def test_slack_incoming_webhook() -> None:
    route = respx.post(HOOK).mock(return_value=httpx.Response(200, text="ok"))
    slack = SlackNotifier(webhook_url=HOOK)
    slack.send(event(EventKind.ROLLBACK_FAILED))
    slack.close()
    text = json.loads(route.calls.last.request.content)["text"]
    assert text.startswith("<!channel> :rotating_light: *gate rollout checkout*")


@respx.mock
def test_pagerduty_triggers_on_rollback_and_resolves_on_promotion() -> None:
    route = respx.post(EVENTS_URL).mock(
        return_value=httpx.Response(
            202, json={"status": "success", "message": "Event processed", "dedup_key": "k"}
        )
    )
    pd = PagerDutyNotifier(routing_key="R0UTING", run_id="run1")
    pd.send(event(EventKind.ROLLED_BACK))
    pd.send(event(EventKind.STAGE_ADVANCED))  # not paged
    pd.send(event(EventKind.PROMOTED))
    trigger, resolve = (json.loads(c.request.content) for c in route.calls)
    assert route.call_count == 2
    assert trigger["event_action"] == "trigger"
    assert trigger["routing_key"] == "R0UTING"
    assert trigger["dedup_key"] == resolve["dedup_key"] == "gate/checkout/run1"
    assert trigger["payload"]["severity"] == "error"
    assert set(trigger["payload"]) >= {"summary", "source", "severity"}
    assert resolve == {
        "routing_key": "R0UTING",
        "event_action": "resolve",
        "dedup_key": "gate/checkout/run1",
    }


def test_signed_webhook_can_be_verified_by_the_receiver() -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        notifier = WebhookNotifier(url=url, secret="s3cret")
        notifier.send(event(EventKind.PROMOTED))
        notifier.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    [(headers, body)] = received
    expected = hmac.new(
        b"s3cret", headers["X-Gate-Timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-Gate-Signature"] == f"sha256={expected}"
    assert signature("s3cret", headers["X-Gate-Timestamp"], body) == f"sha256={expected}"
    assert json.loads(body)["event"] == "promoted"


class Hanging:
    name = "hanging"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()

    def send(self, event: Event) -> None:
        self.started.set()
        self.release.wait(10)

    def close(self) -> None:
        pass


class Broken:
    name = "broken"

    def send(self, event: Event) -> None:
        raise RuntimeError("boom")

    def close(self) -> None:
        pass


def test_a_hanging_or_failing_notifier_never_blocks_the_rollout() -> None:
    hanging = Hanging()
    dispatcher = Dispatcher([(hanging, None), (Broken(), None)], close_timeout=0.1)
    notifier = RolloutNotifier(dispatcher, service="checkout")
    notifier(RolloutEvent(kind=RolloutKind.ROLLED_BACK, rollout="checkout", message="rolled back"))
    assert hanging.started.wait(5)
    assert not hanging.release.is_set()  # the call above returned while the send still hangs
    notifier(RolloutEvent(kind=RolloutKind.MEASURED, rollout="checkout", message="not forwarded"))
    notifier.close()
    hanging.release.set()
    assert [(d.notifier, d.ok) for d in dispatcher.deliveries] == [("broken", False)]
    assert dispatcher.deliveries[0].detail == "boom"
