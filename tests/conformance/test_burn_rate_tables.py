"""The error-budget check's burn-rate alerts, held to the published tables.

Sources:

- Google SRE workbook, "Alerting on SLOs" (sre.google/workbook/alerting-on-slos), the
  recommended multiwindow, multi-burn-rate parameters: 2 % of the budget in 1 h (short
  window 5 m) and 5 % in 6 h (30 m) page; 10 % in 1 d (2 h) and 10 % in 3 d (6 h) open a
  ticket; burn rate = share of budget × SLO period / alert window.
- slok/sloth ``internal/alert/windows/google-30d.yaml`` and ``google-28d.yaml``: the same
  shares and windows for 30- and 28-day SLOs; Sloth's alert rules compare both windows with
  ``>``. The 30-day factors the workbook prints are 14.4, 6, 3 and 1.
- pyrra-dev/pyrra ``slo/rules.go`` scales alert windows with the SLO period instead; gate
  keeps the workbook's fixed windows and scales the factor, which is the same budget share.
"""

from __future__ import annotations

from datetime import datetime

import pytest
import yaml

from gate.change import ChangeRequest
from gate.checks import error_budget
from gate.checks.interface import CheckContext, CheckOutcome, Status
from gate.checks.registry import parse_checks
from gate.config.loader import load_text
from gate.config.node import Node
from gate.providers.metrics.interface import QueryResult, Sample
from tests.policy.helpers import change

WINDOWS = ("1h", "5m", "6h", "30m", "1d", "2h", "3d", "6h")


class Ratios:
    """gate's MetricsProvider interface, answering the error ratio of each window asked for
    (and failing the test for a window nobody should ask about)."""

    name = "fake"

    def __init__(self, by_window: dict[str, float]) -> None:
        self.by_window = by_window
        self.asked: list[str] = []

    def query(self, query: str, at: datetime | None = None) -> QueryResult:
        window = query.split("[")[1].split("]")[0]
        self.asked.append(window)
        return QueryResult(query, (Sample({}, self.by_window[window]),))

    def query_range(
        self, query: str, start: datetime, end: datetime, step_seconds: float
    ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        raise AssertionError("the error-budget check asks for instant queries only")

    def close(self) -> None:
        pass


def check(
    slo_window: str, objective: float, ratios: dict[str, float], c: ChangeRequest | None = None
) -> CheckOutcome:
    doc = load_text(
        yaml.safe_dump(
            {
                "checks": [
                    {
                        "type": "error-budget",
                        "url": "http://127.0.0.1:9090",
                        "objective": objective,
                        "window": slo_window,
                        "errorRatio": "sum(rate(e[{{ window }}])) / sum(rate(r[{{ window }}]))",
                    }
                ]
            }
        ),
        "policy.yaml",
    )
    (spec,) = parse_checks([Node(doc, ("checks", 0))])
    fake = Ratios(dict.fromkeys((slo_window, *WINDOWS), 0.0) | ratios)
    return error_budget.run(spec.settings, c or change(), CheckContext(5.0, lambda *_: fake))


@pytest.mark.parametrize(
    ("slo_window", "factors"),
    [
        ("30d", (14.4, 6.0, 3.0, 1.0)),  # the workbook's table, Sloth google-30d
        ("28d", (13.44, 5.6, 2.8, 0.9333)),  # Sloth google-28d: same shares over 28 days
        ("7d", (3.36, 1.4, 0.7, 0.2333)),  # the same shares over a week
    ],
)
def test_factors_follow_the_slo_window(slo_window: str, factors: tuple[float, ...]) -> None:
    """Burn rate = share of budget × SLO period / alert window, per tier."""
    computed = [t.factor(slo_window) for t in error_budget.burn_tiers(slo_window)]
    assert computed == pytest.approx(factors, abs=5e-5)


def test_tiers_are_the_workbooks_windows_and_severities() -> None:
    """Page: 2 % in 1 h / 5 m, 5 % in 6 h / 30 m; ticket: 10 % in 1 d / 2 h, 10 % in 3 d / 6 h."""
    assert [(t.severity, t.budget_share, t.long, t.short) for t in error_budget.TIERS] == [
        ("page", 0.02, "1h", "5m"),
        ("page", 0.05, "6h", "30m"),
        ("ticket", 0.10, "1d", "2h"),
        ("ticket", 0.10, "3d", "6h"),
    ]


def test_a_28_day_slo_burning_14x_over_1h_and_5m_blocks() -> None:
    """14× is above the 28-day page factor 13.44 (below the 30-day 14.4 that was applied to
    every window before)."""
    budget = 0.001
    out = check("28d", 0.999, {"28d": 0.2 * budget, "1h": 14 * budget, "5m": 14 * budget})
    assert out.status is Status.FAIL
    assert "13.44× burn over 1h and 5m" in out.message


def test_a_calm_28_day_slo_with_half_its_budget_left_passes() -> None:
    """Half the budget used, every window burning at 0.5×: nothing fires."""
    budget = 0.001
    calm = dict.fromkeys(WINDOWS, 0.5 * budget)
    out = check("28d", 0.999, {**calm, "28d": 0.5 * budget})
    assert out.status is Status.PASS, out.message


@pytest.mark.parametrize("slo_window", ["30d", "28d", "7d"])
def test_a_rate_exactly_at_the_factor_does_not_fire(slo_window: str) -> None:
    """Sloth: ``rate1h > factor × budget and rate5m > factor × budget`` — strictly greater."""
    budget = 0.25  # a power of two: factor × budget / budget is exactly the factor
    for tier in error_budget.burn_tiers(slo_window):
        at = tier.factor(slo_window) * budget
        out = check(slo_window, 0.75, {tier.long: at, tier.short: at})
        assert out.status is Status.PASS, (tier, out.message)


def test_both_windows_must_burn() -> None:
    """The long window alone (a spike that has stopped) or the short alone does not fire."""
    budget = 0.001
    assert check("30d", 0.999, {"1h": 20 * budget}).status is Status.PASS
    assert check("30d", 0.999, {"5m": 20 * budget}).status is Status.PASS


def test_page_tiers_block_and_ticket_tiers_warn() -> None:
    """A page burn (6× over 6 h and 30 m on 30 days, here 7×) blocks; a ticket burn (3× over
    1 d and 2 h, here 4×) warns."""
    budget = 0.001
    slow_page = check("30d", 0.999, {"6h": 7 * budget, "30m": 7 * budget})
    assert slow_page.status is Status.FAIL
    assert "6× burn over 6h and 30m" in slow_page.message
    ticket = check("30d", 0.999, {"1d": 4 * budget, "2h": 4 * budget})
    assert ticket.status is Status.WARN
    assert "3× burn over 1d and 2h" in ticket.message
    slow_ticket = check("30d", 0.999, {"3d": 1.5 * budget, "6h": 1.5 * budget})
    assert slow_ticket.status is Status.WARN
    assert "1× burn over 3d and 6h" in slow_ticket.message


def test_alert_windows_longer_than_the_slo_are_not_asked_for() -> None:
    """A 2-day SLO has no 3-day ticket tier."""
    assert [t.long for t in error_budget.burn_tiers("2d")] == ["1h", "6h", "1d"]
