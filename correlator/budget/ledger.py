"""The budget ledger: how much error budget correlated incidents have spent.

Budget spend comes from incidents, not from raw alerts: correlation already
collapsed a storm into the incidents that matter, so a 40-alert cascade
spends a service's budget once, not 40 times.

Rules (documented in README, "Change correlation and the deploy gate"):

* An incident impairs every service it affects (its ``services``, the root
  cause included) from its first alert (``opened_at``) to ``resolved_at``, or
  to *now* while it is open. Only the latest version of each incident counts
  (its latest severity and services stand for its whole life); a merged
  incident counts no more (the one it merged into carries its alerts).
* A service's SLO counts an incident only if the incident's severity is in
  the SLO's ``severities``; each impaired second spends ``weight(severity)``
  budget seconds (see :class:`~correlator.budget.config.GateConfig`).
* Spend is summed over the SLO's rolling window ending *now*; burn rates
  over the last hour and the last five minutes.
* A service may be *seeded* with spend from before the input began (the
  replay's ``--slo-state``): that spend counts in full at any *now*.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from correlator.budget.arithmetic import (
    burn_rate,
    error_budget_seconds,
    overlap_seconds,
    remaining_fraction,
)
from correlator.budget.config import GateConfig
from correlator.changes.scope import event_time
from topology import SLO

__all__ = ["LONG_BURN_SECONDS", "SHORT_BURN_SECONDS", "BudgetLedger", "BudgetStatus", "Impairment"]

LONG_BURN_SECONDS = 3600.0
SHORT_BURN_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Impairment:
    """One incident's hold on the services it affects."""

    incident: str
    version: int
    severity: str
    services: tuple[str, ...]
    root: str | None
    start: float
    end: float | None  # None while open
    status: str

    @property
    def is_open(self) -> bool:
        return self.end is None


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """A service's budget position at one instant."""

    service: str
    objective: float
    window_seconds: int
    budget_seconds: float
    spent_seconds: float
    remaining: float
    burn_rate_1h: float
    burn_rate_5m: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "window_seconds": self.window_seconds,
            "budget_seconds": round(self.budget_seconds, 3),
            "spent_seconds": round(self.spent_seconds, 3),
            "budget_remaining": round(self.remaining, 4),
            "burn_rate_1h": round(self.burn_rate_1h, 2),
            "burn_rate_5m": round(self.burn_rate_5m, 2),
        }


def impairment_from_event(event: Mapping[str, Any]) -> Impairment | None:
    """The impairment an incident event describes, or None for a merged incident."""
    incident = event.get("id")
    if not isinstance(incident, str) or event.get("status") == "merged":
        return None
    opened = event_time(event, "opened_at")
    if opened is None:
        return None
    resolved = event_time(event, "resolved_at")
    root_doc = event.get("root_cause")
    root = root_doc.get("service") if isinstance(root_doc, Mapping) else None
    services = {s for s in event.get("services") or () if isinstance(s, str)}
    if isinstance(root, str) and root:
        services.add(root)
    version = event.get("version")
    return Impairment(
        incident=incident,
        version=version if isinstance(version, int) else 0,
        severity=str(event.get("severity") or "info"),
        services=tuple(sorted(services)),
        root=root if isinstance(root, str) and root else None,
        start=opened.timestamp(),
        end=None if resolved is None else max(resolved.timestamp(), opened.timestamp()),
        status=str(event.get("status") or "open"),
    )


class BudgetLedger:
    """Incident impairments per service, and the budget arithmetic over them."""

    def __init__(self, config: GateConfig) -> None:
        self._config = config
        self._incidents: dict[str, Impairment] = {}
        self._by_service: dict[str, set[str]] = {}
        self._seeded: dict[str, float] = {}  # service -> budget fraction spent before input

    @property
    def incidents(self) -> Mapping[str, Impairment]:
        return self._incidents

    def observe(self, event: Mapping[str, Any]) -> frozenset[str]:
        """Record an incident event; returns the services whose spend may have changed.

        Older versions than the one held are ignored (idempotent re-delivery).
        """
        incident = event.get("id")
        if not isinstance(incident, str):
            return frozenset()
        old = self._incidents.get(incident)
        version = event.get("version")
        if old is not None and isinstance(version, int) and version < old.version:
            return frozenset()
        new = impairment_from_event(event)
        touched = set(old.services) if old is not None else set()
        if old is not None:
            self._forget(old)
        if new is not None:
            self._incidents[incident] = new
            for service in new.services:
                self._by_service.setdefault(service, set()).add(incident)
            touched.update(new.services)
        return frozenset(touched)

    def _forget(self, old: Impairment) -> None:
        del self._incidents[old.incident]
        for service in old.services:
            ids = self._by_service.get(service)
            if ids is not None:
                ids.discard(old.incident)
                if not ids:
                    del self._by_service[service]

    def seed(self, service: str, remaining: float) -> None:
        """Start ``service`` with ``1 - remaining`` of its budget already spent."""
        if not -10.0 <= remaining <= 1.0:
            raise ValueError(f"budget remaining for {service} must be at most 1, got {remaining}")
        self._seeded[service] = 1.0 - remaining

    def impairments(self, service: str) -> Iterator[Impairment]:
        """Incidents affecting ``service``, in no particular order (cheaper than sorting)."""
        incidents = self._incidents
        return (incidents[i] for i in self._by_service.get(service, ()))

    def impairing(self, service: str) -> list[Impairment]:
        """Incidents affecting ``service``, in (start, id) order."""
        ids = self._by_service.get(service, ())
        return sorted((self._incidents[i] for i in ids), key=lambda m: (m.start, m.incident))

    def _spent(self, items: Iterable[Impairment], slo: SLO, start: float, end: float) -> float:
        total = 0.0
        for item in items:
            if item.severity not in slo.severities:
                continue
            weight = self._config.weight(item.severity)
            if weight <= 0:
                continue
            stop = end if item.end is None else min(item.end, end)
            total += weight * overlap_seconds(item.start, stop, start, end)
        return total

    def status(self, service: str, slo: SLO, now: datetime) -> BudgetStatus:
        """The budget position of ``service`` under ``slo`` at ``now``."""
        t = now.timestamp()
        items = self.impairing(service)
        budget = error_budget_seconds(slo.objective, slo.window_seconds)
        spent = self._spent(items, slo, t - slo.window_seconds, t)
        spent += self._seeded.get(service, 0.0) * budget
        long_spent = self._spent(items, slo, t - LONG_BURN_SECONDS, t)
        short_spent = self._spent(items, slo, t - SHORT_BURN_SECONDS, t)
        return BudgetStatus(
            service=service,
            objective=slo.objective,
            window_seconds=slo.window_seconds,
            budget_seconds=budget,
            spent_seconds=spent,
            remaining=remaining_fraction(spent, budget),
            burn_rate_1h=burn_rate(long_spent, LONG_BURN_SECONDS, slo.objective),
            burn_rate_5m=burn_rate(short_spent, SHORT_BURN_SECONDS, slo.objective),
        )

    def has_history(self, service: str) -> bool:
        """Whether anything (an incident or a seed) counts against ``service``."""
        return service in self._by_service or service in self._seeded

    def snapshot(self) -> dict[str, Any]:
        """Plain JSON-ready state (for the worker's snapshots)."""
        return {
            "incidents": [
                [m.incident, m.version, m.severity, list(m.services), m.root, m.start, m.end,
                 m.status]
                for m in sorted(self._incidents.values(), key=lambda m: m.incident)
            ],
            "seeded": dict(sorted(self._seeded.items())),
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Replace the state with a :meth:`snapshot`; raises ValueError/TypeError if malformed."""
        self._incidents.clear()
        self._by_service.clear()
        for row in data["incidents"]:
            incident, version, severity, services, root, start, end, status = row
            item = Impairment(str(incident), int(version), str(severity),
                              tuple(str(s) for s in services), root, float(start),
                              None if end is None else float(end), str(status))
            self._incidents[item.incident] = item
            for service in item.services:
                self._by_service.setdefault(service, set()).add(item.incident)
        self._seeded = {str(k): float(v) for k, v in dict(data["seeded"]).items()}

    def prune(self, now: datetime, keep_seconds: float) -> int:
        """Forget resolved incidents that ended more than ``keep_seconds`` before ``now``."""
        cutoff = now.timestamp() - keep_seconds
        old = [m for m in self._incidents.values() if m.end is not None and m.end < cutoff]
        for item in sorted(old, key=lambda m: m.incident):
            self._forget(item)
        return len(old)
