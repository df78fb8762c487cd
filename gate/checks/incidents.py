"""``type: incidents``: block while an incident at ``minSeverity`` (default SEV-2) or worse is
open on an affected service (PagerDuty; ``services`` maps gate's names to its service ids;
without ``services``, an open incident on any service blocks)."""

from __future__ import annotations

from dataclasses import dataclass

from gate.change import ChangeRequest, same_name
from gate.checks.interface import CheckContext, CheckOutcome
from gate.config.node import Node
from gate.secrets import SecretRef, reveal

SEV_RANK = {"SEV-1": 1, "SEV-2": 2, "SEV-3": 3, "SEV-4": 4, "SEV-5": 5}
DEFAULT_URL = "https://api.pagerduty.com"


@dataclass(frozen=True)
class Settings:
    token: SecretRef
    services: tuple[tuple[str, str], ...] | None = None  # None: every service
    min_severity: int = 2
    url: str = DEFAULT_URL

    @classmethod
    def parse(cls, node: Node) -> Settings:
        from gate.checks.registry import settings_keys

        settings_keys(node, ("tokenEnv", "url", "services", "minSeverity"), "incidents")
        token = (
            node.secret("tokenEnv")
            if node.has("tokenEnv")
            else SecretRef("PAGERDUTY_TOKEN", node.doc.file, node.line, f"{node.field}.tokenEnv")
        )
        services: dict[str, object] | None = node.get("services", None)
        if services == {}:  # it would ask about no service: every change would pass
            raise node["services"].error(
                "maps no service; map gate's service names to PagerDuty service ids, or leave "
                "services out to watch every service"
            )
        return cls(
            token=token,
            services=None
            if services is None
            else tuple((str(k), str(v)) for k, v in services.items()),
            min_severity=SEV_RANK[node.get("minSeverity", "SEV-2")],
            url=node.url("url", DEFAULT_URL),
        )


def run(settings: Settings, change: ChangeRequest, context: CheckContext) -> CheckOutcome:
    from gate.providers.incidents.pagerduty import PagerDutyIncidents

    ids: list[str] | None = None
    if settings.services is not None:
        mapping = {same_name(name): pd for name, pd in settings.services}
        touched = {same_name(name) for name in change.affected_services}
        ids = sorted({pd for name, pd in mapping.items() if name in touched})
        if not ids:
            return CheckOutcome.passed("no affected service is mapped to a PagerDuty service")
    with PagerDutyIncidents(
        token=reveal(settings.token), url=settings.url, timeout=context.timeout
    ) as client:
        found = client.open_incidents(ids)
    limit = settings.min_severity
    blocking = [i for i in found if i.severity <= limit]
    if blocking:
        listed = "; ".join(f"#{i.number} SEV-{i.severity} {i.title}" for i in blocking[:5])
        return CheckOutcome.failed(
            f"{len(blocking)} open incident(s) on affected services: {listed}"
        )
    return CheckOutcome.passed(f"no open incident at SEV-{limit} or worse")
