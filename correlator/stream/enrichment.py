"""The enrichment stage of one partition, fed the way ``correlator replay`` feeds it.

Why a wrapper around :class:`~correlator.enrich.Enricher`: the replay observes a change
only once the engine's event-time clock has reached the change's time, then advances the
stage to the clock, then enriches the step's events. A worker learns of changes at any
wall time (from the changes topic, in any order, possibly again after a restart), so each
partition keeps the changes it has not observed yet, sorted by ``(time, id)``, and
releases them with the same rule after every engine step. For the same alerts and the
same changes the final incidents therefore carry the same ``suspect_changes`` as the
replay; a change that arrives after an incident's event shows from its next version on.

Kept free of Kafka and faust so the rule is unit-tested on its own.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson

from correlator.changes import Change
from correlator.enrich import Enricher
from correlator.incident import IncidentEvent
from correlator.model import Alert
from correlator.stream.envelope import OutputRecord

__all__ = ["EnrichmentFeed", "gate_record"]


def _order(change: Change) -> tuple[datetime, str]:
    return (change.at, change.id)


class EnrichmentFeed:
    """One partition's :class:`Enricher` plus the changes it has not observed yet."""

    def __init__(self, enricher: Enricher) -> None:
        self.enricher = enricher
        self._pending: list[tuple[tuple[datetime, str], Change]] = []
        self._offered: set[str] = set()

    @property
    def pending(self) -> int:
        """Changes offered but not observed yet (their time is after the engine clock)."""
        return len(self._pending)

    def offer(self, change: Change) -> bool:
        """Queue a change until event time reaches it; False if already offered."""
        if change.id in self._offered:
            return False
        self._offered.add(change.id)
        bisect.insort(self._pending, (_order(change), change), key=lambda item: item[0])
        return True

    def observe_alerts(self, alerts: Iterable[Alert]) -> None:
        """Alerts the engine accepted (burn-rate alerts move the gate)."""
        for alert in alerts:
            self.enricher.observe_alert(alert)

    def step(
        self, clock: datetime | None, events: Iterable[IncidentEvent]
    ) -> tuple[list[tuple[IncidentEvent, dict[str, Any]]], list[dict[str, Any]]]:
        """After an engine step: release due changes, advance, enrich the step's events.

        Returns ``(event, enriched dict)`` pairs and the gate change events, in order.
        """
        if clock is not None:
            due = 0
            while due < len(self._pending) and self._pending[due][0][0] <= clock:
                self.enricher.observe_change(self._pending[due][1])
                due += 1
            del self._pending[:due]
            self.enricher.advance(clock)
        enriched = [(event, self.enricher.enrich(event)) for event in events]
        return enriched, self.enricher.gate_events()

    def snapshot(self) -> bytes:
        return self.enricher.snapshot()

    def restore(self, data: bytes) -> None:
        """Load an :meth:`Enricher.snapshot`; changes must then be offered again.

        Re-offered changes the snapshot already holds are ignored by the enricher (it
        knows their ids), so offering every known change after a restore is safe.
        """
        self.enricher.restore(data)
        self._pending = []
        self._offered = set()


def gate_record(event: dict[str, Any]) -> OutputRecord:
    """The deploy-gate record of one gate change event.

    Key = service, so a compacted topic keeps the latest state of every service's gate;
    the value is the event as JSON (``service``, ``state``, ``previous``, ``reasons``,
    ``at``, ``version``).
    """
    return OutputRecord(
        key=str(event["service"]).encode("utf-8"),
        value=orjson.dumps(event),
        headers=[("content-type", b"application/json")],
    )
