"""PagerDuty's REST API: open incidents of some services (``GET /incidents``), every page.

Reference: PagerDuty API reference, "List incidents" (statuses[], service_ids[], limit,
offset, more, date_range) and "Pagination" (classic offset pagination). Without ``since`` the
list holds only incidents created in the last month; ``date_range=all`` lifts that, so an
incident opened weeks ago and still open is found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from gate.errors import ProviderRejected
from gate.providers.http import HttpClient

_NAME = "pagerduty"
DEFAULT_URL = "https://api.pagerduty.com"
LIMIT = 100
MAX_PAGES = 20


@dataclass(frozen=True)
class Incident:
    number: int
    title: str
    severity: int  # 1 (worst) … 5


_LEVEL = re.compile(r"(?:P|SEV)[- ]?([0-9])")
_WORDS = {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 3, "MODERATE": 3, "LOW": 4}


def severity(incident: dict[str, Any]) -> int:
    """SEV-1 (worst) … SEV-5 from PagerDuty's priority, whose labels each account names
    ("usually P1 through P5 or SEV-1 through SEV-5"; P0 or SEV-0 counts as SEV-1); without a
    priority gate recognises, high urgency is SEV-2, low urgency SEV-4."""
    priority = incident.get("priority")
    summary = priority.get("summary") if isinstance(priority, dict) else None
    text = summary.strip().upper() if isinstance(summary, str) else ""
    level = _LEVEL.fullmatch(text)
    if level is not None:
        return min(max(int(level.group(1)), 1), 5)
    if text in _WORDS:
        return _WORDS[text]
    return 2 if incident.get("urgency") == "high" else 4


class PagerDutyIncidents:
    def __init__(
        self,
        *,
        token: str,
        url: str = DEFAULT_URL,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = HttpClient(
            _NAME,
            base_url=url,
            headers={"Authorization": f"Token token={token}", "Accept": "application/json"},
            timeout=timeout,
            retries=2,
            backoff_initial=0.2,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PagerDutyIncidents:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open_incidents(self, service_ids: list[str] | None = None) -> list[Incident]:
        """Every triggered or acknowledged incident, however long ago it was opened, of these
        services (None: of every service)."""
        out: list[Incident] = []
        offset = 0
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {
                "statuses[]": ["triggered", "acknowledged"],
                "date_range": "all",
                "limit": LIMIT,
                "offset": offset,
            }
            if service_ids is not None:
                params["service_ids[]"] = service_ids
            reply = self._http.request("GET", "/incidents", params=params)
            data = reply.json_object()
            items = data.get("incidents")
            if not isinstance(items, list):
                raise ProviderRejected(f"{reply.where}: no incidents list", provider=_NAME)
            for item in items:
                if not isinstance(item, dict):
                    continue
                number = item.get("incident_number")
                title = item.get("title")
                out.append(
                    Incident(
                        number if isinstance(number, int) else 0,
                        title if isinstance(title, str) else "",
                        severity(item),
                    )
                )
            if data.get("more") is not True or not items:
                return out
            offset += len(items)
        raise ProviderRejected(
            f"more than {MAX_PAGES * LIMIT} open incidents; refusing to decide on part of them",
            provider=_NAME,
        )
