"""``type: anomaly``: do not deploy into an ongoing anomaly. The metric's last minutes are
judged against its own history at the same time of week (:mod:`gate.anomaly`); an anomaly
blocks, too little history is a check that could not decide (fail closed unless
``onError: fail-open``)."""

from __future__ import annotations

from dataclasses import dataclass

from gate.anomaly.detector import AnomalySettings
from gate.anomaly.settings import parse_anomaly
from gate.change import ChangeRequest
from gate.checks.interface import CheckContext, CheckOutcome
from gate.config.node import Node
from gate.errors import ProviderRejected
from gate.secrets import SecretRef, reveal


@dataclass(frozen=True)
class Settings:
    url: str
    anomaly: AnomalySettings
    headers: tuple[tuple[str, SecretRef], ...] = ()

    @classmethod
    def parse(cls, node: Node) -> Settings:
        from gate.checks.registry import settings_keys

        settings_keys(node, ("url", "query", "headersEnv", "anomaly"), "anomaly")
        query = node.text("query")
        name = node.text("name", "") or query
        if node.has("anomaly"):
            anomaly = parse_anomaly(node["anomaly"], query, name)
        else:
            anomaly = AnomalySettings(query=query, name=name)
        return cls(url=node.url("url"), anomaly=anomaly, headers=node.secret_map("headersEnv"))


def run(settings: Settings, change: ChangeRequest, context: CheckContext) -> CheckOutcome:
    from gate.anomaly import Verdict, assess

    headers = {h: reveal(ref) for h, ref in settings.headers}
    if context.metrics is not None:
        provider = context.metrics(settings.url, context.timeout, headers)
    else:
        from gate.providers.metrics.prometheus import PrometheusProvider

        provider = PrometheusProvider(
            settings.url, timeout=context.timeout, headers=headers, retries=1
        )
    try:
        found = assess(provider, settings.anomaly, at=context.now())
    except ValueError as exc:
        raise ProviderRejected(str(exc)) from None
    finally:
        provider.close()
    if found.verdict is Verdict.ANOMALY:
        return CheckOutcome.failed(f"{found.message}: do not deploy into an ongoing anomaly")
    if found.verdict is Verdict.INCONCLUSIVE:
        raise ProviderRejected(f"cannot tell: {found.message}")
    return CheckOutcome.passed(found.message)
