"""The enrichment stage: suspect changes, SLO context and priority on incident events.

A separate stage after the engine, in the Alertmanager tradition of stages
that do one thing: the engine groups alerts and ranks root causes and knows
nothing of deploys or budgets; this stage reads its events and adds

* ``suspect_changes`` -- ranked recent changes (:mod:`correlator.changes.suspects`),
* ``slo_context`` -- for every affected service with an SLO or a firing
  burn-rate alert: ``{service, slo_objective, budget_remaining, burn_rate_1h,
  fast_burn, source}`` (root cause first, then by name; ``source`` is the
  burn-rate alert system when one fires for the service, else ``incidents``),
* ``priority`` (``normal`` | ``raised``) and ``priority_reason`` (null when
  normal): raised when an affected service has less than
  ``gate.raise_priority_below`` of its error budget left.

The keys are always present (empty lists, ``"normal"``), so subscribers
need no special case. It also keeps the deploy gate (:class:`GateBook`)
current and queues its change events for :meth:`Enricher.gate_events`.

Time and changes. The caller drives event time with :meth:`Enricher.advance`
(the replay and the worker pass the engine's clock after every step). An
event sees the changes observed so far whose time is within
``[opened_at - lookback, horizon]`` (horizon = ``resolved_at``, else
``updated_at``). The replay feeds each change once the engine clock has
reached the change's time, which by that rule gives the same suspects as
feeding every change up front; a stream that receives a change after the
event was published shows it from the incident's next version on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from correlator.budget import GateBook, GateConfig, gate_config_from_mapping
from correlator.changes import (
    Change,
    ChangeLog,
    ChangesConfig,
    changes_config_from_mapping,
    rank_suspects,
    scope_from_event,
)
from correlator.changes.canonical import encode_change
from correlator.changes.config import read_config_document
from correlator.changes.model import ChangeKind
from correlator.codecs.timefmt import parse_rfc3339
from correlator.errors import SnapshotError
from correlator.incident import IncidentEvent
from correlator.model import Alert
from topology import Topology

__all__ = ["ENRICHED_KEYS", "Enricher", "load_enrichment_config"]

#: Keys the stage adds to every incident event, in this order (after the engine's keys).
ENRICHED_KEYS = ("suspect_changes", "slo_context", "priority", "priority_reason")
SNAPSHOT_VERSION = 1


def load_enrichment_config(path: str | None) -> tuple[ChangesConfig, GateConfig]:
    """Read the ``changes:`` and ``gate:`` sections of a config file (strict).

    ``None`` gives the defaults. Other top-level sections are ignored here.
    """
    if path is None:
        return ChangesConfig(), GateConfig()
    doc = read_config_document(path)
    return (
        changes_config_from_mapping(doc.get("changes"), source=str(path)),
        gate_config_from_mapping(doc.get("gate"), source=str(path)),
    )


class Enricher:
    """Adds suspect changes, SLO context and priority to incident events; keeps the gate."""

    def __init__(self, topology: Topology, changes_config: ChangesConfig | None = None,
                 gate_config: GateConfig | None = None) -> None:
        self._topology = topology
        self._config = changes_config or ChangesConfig()
        self._changes = ChangeLog(topology, self._config.retention)
        self._gate = GateBook(topology, gate_config or GateConfig())
        self._pending: list[dict[str, Any]] = []

    @property
    def gate(self) -> GateBook:
        return self._gate

    @property
    def changes(self) -> ChangeLog:
        return self._changes

    @property
    def now(self) -> datetime | None:
        return self._gate.now

    def set_topology(self, topology: Topology) -> None:
        """Swap the topology (aliases, dependencies, SLOs) for what follows."""
        self._topology = topology
        self._changes.set_topology(topology)
        self._gate.set_topology(topology)

    def seed_budget(self, service: str, remaining: float) -> None:
        """Start a service with only ``remaining`` (a fraction) of its budget left."""
        self._gate.ledger.seed(self._gate.resolve(service), remaining)

    # ---------------------------------------------------------------- inputs

    def observe_change(self, change: Change) -> bool:
        """Remember a change; False if its id was already known (re-delivery)."""
        return self._changes.add(change) is not None

    def observe_alert(self, alert: Alert) -> None:
        """Look at an alert for burn-rate labels (every other alert is ignored)."""
        self._pending.extend(self._gate.observe_alert(alert))

    def advance(self, now: datetime) -> None:
        """Move event time forward: re-check time-dependent gates, forget old changes."""
        self._pending.extend(self._gate.advance(now))
        current = self._gate.now
        if current is not None:
            self._changes.prune(current)

    # ---------------------------------------------------------------- outputs

    def enrich(self, event: IncidentEvent | Mapping[str, Any]) -> dict[str, Any]:
        """The event as a dict with the enrichment keys added (a new dict; input untouched)."""
        doc = event.to_dict() if isinstance(event, IncidentEvent) else dict(event)
        for key in ENRICHED_KEYS:
            doc.pop(key, None)
        self._pending.extend(self._gate.observe_incident(doc))
        scope = scope_from_event(doc, self._topology, self._config)
        if len(self._changes):
            start = scope.first_alert - self._config.lookback
            end = max(scope.horizon, scope.first_alert + self._config.grace)
            nearby = self._changes.between(scope.services(), start, end)
            suspects = rank_suspects(scope, nearby, self._config)
            doc["suspect_changes"] = [s.to_dict() for s in suspects]
        else:  # no change known: nothing to rank (the common case without a changes feed)
            doc["suspect_changes"] = []
        affected = sorted(set(scope.members) | ({scope.root} if scope.root else set()),
                          key=lambda s: (s != scope.root, s))
        context = [entry for s in affected if (entry := self._slo_entry(s)) is not None]
        doc["slo_context"] = context
        doc["priority"], doc["priority_reason"] = self._priority(context)
        return doc

    def _slo_entry(self, service: str) -> dict[str, Any] | None:
        slo = self._gate.slo(service)
        burns = self._gate.active_burns(service)
        if slo is None and not burns:
            return None
        status = self._gate.budget(service)
        return {
            "service": service,
            "slo_objective": slo.objective if slo is not None else None,
            "budget_remaining": round(status.remaining, 4) if status is not None else None,
            "burn_rate_1h": round(status.burn_rate_1h, 2) if status is not None else None,
            "fast_burn": self._gate.fast_burn(service, status),
            "source": burns[0].source.value if burns else "incidents",
        }

    def _priority(self, context: list[dict[str, Any]]) -> tuple[str, str | None]:
        threshold = self._gate.config.raise_priority_below
        low = [e for e in context
               if e["budget_remaining"] is not None and e["budget_remaining"] < threshold]
        if not low:
            return "normal", None
        worst = min(low, key=lambda e: (e["budget_remaining"], e["service"]))
        left = max(float(worst["budget_remaining"]), 0.0)
        return "raised", (
            f"{worst['service']} has {left:.1%} of its error budget left "
            f"(below {threshold:.0%})"
        )

    def gate_events(self) -> list[dict[str, Any]]:
        """Gate change events since the last call, in the order they happened."""
        events, self._pending = self._pending, []
        return events

    def decision(self, service: str) -> dict[str, Any] | None:
        """The deploy gate decision for a service (id or alias); None if unknown."""
        return self._gate.decision(service)

    def gate_state(self) -> dict[str, Any]:
        """Every service's gate decision (the document ``correlator gate --state`` reads)."""
        return self._gate.state_document()

    # ---------------------------------------------------------------- snapshots

    def snapshot(self) -> bytes:
        """The stage's state (changes kept, ledger, gates, clock) as JSON bytes.

        Workers persist it next to the engine snapshot so a restart does not
        forget the last day of changes or the budget spent.
        """
        changes = [
            {**encode_change(c), "source": c.source, "alt_services": list(c.alt_services)}
            for c in self._changes.changes()
        ]
        doc = {"version": SNAPSHOT_VERSION, "changes": changes, "gate": self._gate.snapshot()}
        return orjson.dumps(doc)

    def restore(self, data: bytes) -> None:
        """Replace the state with a :meth:`snapshot`; SnapshotError if it cannot be read."""
        try:
            doc = orjson.loads(data)
            if doc.get("version") != SNAPSHOT_VERSION:
                raise SnapshotError(
                    f"enricher snapshot version {doc.get('version')!r} is not {SNAPSHOT_VERSION}"
                )
            changes = [_change_from_snapshot(entry) for entry in doc["changes"]]
            gate = GateBook(self._topology, self._gate.config)
            gate.restore(doc["gate"])
        except SnapshotError:
            raise
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"cannot restore the enricher snapshot: {exc!r}") from None
        self._gate = gate
        self._changes = ChangeLog(self._topology, self._config.retention)
        for change in changes:
            self._changes.add(change)
        self._pending = []


def _change_from_snapshot(entry: Mapping[str, Any]) -> Change:
    return Change(
        id=entry["id"],
        service=entry["service"],
        kind=ChangeKind(entry["kind"]),
        at=parse_rfc3339(entry["time"]),
        version=entry["version"],
        author=entry["author"],
        link=entry["link"],
        summary=entry["summary"],
        environment=entry["environment"],
        source=entry["source"],
        alt_services=tuple(entry["alt_services"]),
    )
