"""``type: error-budget``: the SLO's error budget over its window, and its burn rates.

Budget consumed over the SLO window: up to half healthy, more than half warns, over 100 %
(exhausted) blocks non-emergency changes.

Burn rates follow the SRE workbook ("Alerting on SLOs", multiwindow, multi-burn-rate alerts),
as Sloth publishes them (``internal/alert/windows/google-30d.yaml``, ``google-28d.yaml``): an
alert fires when a share of the budget is spent within an alert window — 2 % in 1 h (short
window 5 m) and 5 % in 6 h (30 m) page; 10 % in 1 d (2 h) and 10 % in 3 d (6 h) open a
ticket. The burn-rate factor is that share × SLO window / alert window, so it follows the
SLO's window: 14.4 / 6 / 3 / 1 for 30 days, 13.44 / 5.6 / 2.8 / 0.93 for 28 days. Both the
long and the short window must burn faster than the factor (strictly, as Sloth's ``>``).
A paging burn blocks; a ticket burn warns.
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
_MINUTES = {"m": 1, "h": 60, "d": 24 * 60}


@dataclass(frozen=True)
class BurnTier:
    """Spending ``budget_share`` of the error budget within ``long`` (and ``short``)."""

    severity: str  # page | ticket
    budget_share: float
    long: str
    short: str

    def factor(self, slo_window: str) -> float:
        """The burn rate that spends ``budget_share`` of the budget within ``long``."""
        return self.budget_share * minutes(slo_window) / minutes(self.long)


TIERS = (
    BurnTier("page", 0.02, "1h", "5m"),
    BurnTier("page", 0.05, "6h", "30m"),
    BurnTier("ticket", 0.10, "1d", "2h"),
    BurnTier("ticket", 0.10, "3d", "6h"),
)


def minutes(window: str) -> int:
    """``30d``, ``6h``, ``5m`` in minutes."""
    return int(window[:-1]) * _MINUTES[window[-1]]


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

    measured: dict[str, float | None] = {}

    def ratio(over: str) -> float | None:
        if over not in measured:
            result = provider.query(settings.error_ratio.replace("{{ window }}", over))
            values = [x.value for x in result.samples if x.value == x.value]
            measured[over] = max(values) if values else None
        return measured[over]

    burning: dict[str, list[str]] = {"page": [], "ticket": []}
    try:
        consumed_ratio = ratio(settings.window)
        if consumed_ratio is None:
            raise ProviderRejected(f"the error ratio over {settings.window} returned no data")
        consumed = consumed_ratio / budget
        if settings.burn_rates:
            for tier in burn_tiers(settings.window):
                factor = tier.factor(settings.window)
                rates = [ratio(tier.long), ratio(tier.short)]
                if all(r is not None and r / budget > factor for r in rates):
                    burning[tier.severity].append(
                        f"{factor:.4g}× burn over {tier.long} and {tier.short}"
                    )
    finally:
        provider.close()
    text = (
        f"{consumed:.0%} of the error budget used over {settings.window} "
        f"(SLO {settings.objective:.3%})"
    )
    if burning["page"]:
        return CheckOutcome.failed(f"{text}; burning fast: {', '.join(burning['page'])}")
    if consumed > 1:
        if change.type is ChangeType.EMERGENCY or not settings.block_when_exhausted:
            return CheckOutcome.warned(f"{text}: exhausted (emergency change allowed)")
        return CheckOutcome.failed(f"{text}: exhausted; only emergency changes may ship")
    if burning["ticket"]:
        return CheckOutcome.warned(f"{text}; burning: {', '.join(burning['ticket'])}")
    if consumed > 0.5:
        return CheckOutcome.warned(f"{text}: more than half used")
    return CheckOutcome.passed(text)


def burn_tiers(slo_window: str) -> tuple[BurnTier, ...]:
    """The tiers whose alert window fits inside the SLO window."""
    return tuple(t for t in TIERS if minutes(t.long) < minutes(slo_window))
