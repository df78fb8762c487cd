"""``type: error-budget``: the SLO's error budget over its window, and its burn rates.

Budget consumed over the SLO window: below 50 % healthy, 50-100 % warns, over 100 %
(exhausted) blocks non-emergency changes. Burn rates of 14.4× over 1 h and 5 m, or 6× over
6 h and 30 m, block too (the SRE workbook's paging pairs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gate.change import ChangeRequest, ChangeType
from gate.checks.interface import CheckContext, CheckOutcome
from gate.config.node import Node
from gate.errors import ProviderRejected
from gate.providers.metrics.interface import MetricsProvider
from gate.secrets import SecretRef, reveal

_WINDOW = re.compile(r"[0-9]{1,4}[mhd]")
PAGE_PAIRS = ((14.4, "1h", "5m"), (6.0, "6h", "30m"))


@dataclass(frozen=True)
class Settings:
    url: str
    objective: float
    error_ratio: str
    window: str = "30d"
    burn_rates: bool = True
    block_when_exhausted: bool = True
    headers: tuple[tuple[str, SecretRef], ...] = ()

    @classmethod
    def parse(cls, node: Node) -> Settings:
        from gate.checks.registry import settings_keys

        settings_keys(
            node,
            (
                "url",
                "objective",
                "errorRatio",
                "window",
                "burnRates",
                "blockWhenExhausted",
                "headersEnv",
            ),
            "error-budget",
        )
        ratio = node.text("errorRatio")
        if "{{ window }}" not in ratio:
            raise node["errorRatio"].error(
                "the query must use {{ window }} where the range goes, e.g. "
                "sum(rate(errors[{{ window }}])) / sum(rate(requests[{{ window }}]))"
            )
        window = node.text("window", "30d")
        if not _WINDOW.fullmatch(window):
            raise node["window"].error(f"{window!r} is not a window such as 30d or 28d")
        return cls(
            url=node.url("url"),
            objective=node.number("objective", above=0, below=1),
            error_ratio=ratio,
            window=window,
            burn_rates=node.flag("burnRates", True),
            block_when_exhausted=node.flag("blockWhenExhausted", True),
            headers=node.secret_map("headersEnv"),
        )


def _provider(settings: Settings, context: CheckContext) -> MetricsProvider:
    headers = {h: reveal(ref) for h, ref in settings.headers}
    if context.metrics is not None:
        return context.metrics(settings.url, context.timeout, headers)
    from gate.providers.metrics.prometheus import PrometheusProvider

    return PrometheusProvider(settings.url, timeout=context.timeout, headers=headers, retries=1)


def run(settings: Settings, change: ChangeRequest, context: CheckContext) -> CheckOutcome:
    budget = 1 - settings.objective
    provider = _provider(settings, context)

    def ratio(over: str) -> float | None:
        result = provider.query(settings.error_ratio.replace("{{ window }}", over))
        values = [x.value for x in result.samples if x.value == x.value]
        return max(values) if values else None

    try:
        consumed_ratio = ratio(settings.window)
        if consumed_ratio is None:
            raise ProviderRejected(f"the error ratio over {settings.window} returned no data")
        consumed = consumed_ratio / budget
        burning = []
        if settings.burn_rates:
            for factor, long, short in PAGE_PAIRS:
                rates = [ratio(long), ratio(short)]
                if all(r is not None and r / budget >= factor for r in rates):
                    burning.append(f"{factor:g}× burn over {long} and {short}")
    finally:
        provider.close()
    text = (
        f"{consumed:.0%} of the error budget used over {settings.window} "
        f"(SLO {settings.objective:.3%})"
    )
    if burning:
        return CheckOutcome.failed(f"{text}; burning fast: {', '.join(burning)}")
    if consumed > 1:
        if change.type is ChangeType.EMERGENCY or not settings.block_when_exhausted:
            return CheckOutcome.warned(f"{text}: exhausted (emergency change allowed)")
        return CheckOutcome.failed(f"{text}: exhausted; only emergency changes may ship")
    if consumed >= 0.5:
        return CheckOutcome.warned(f"{text}: more than half used")
    return CheckOutcome.passed(text)
