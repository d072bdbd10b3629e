"""The deploy gate: may this service ship right now?

A pure state machine per service, fed incident events, alerts (for burn-rate
labels) and event time; no wall clock, no I/O. States and what causes them:

* ``closed`` -- an open incident whose severity is in ``close_severities``
  (default: critical) has the service as its root cause or in its blast
  radius (its services); or the service burns its budget fast: a firing
  fast-burn alert (Sloth ``page``, Grafana SLO ``critical``, Pyrra
  ``critical``), or a computed burn rate of at least ``fast_burn_rate`` over
  both the last hour and the last five minutes (the SRE Workbook's page
  condition, so a gate reopens five minutes after the burning stops);
* ``caution`` -- less than ``caution_budget_below`` of the budget is left, or
  a slow-burn alert (Sloth ``ticket``, Grafana/Pyrra ``warning``) fires;
* ``open`` -- otherwise (every service starts open; a service without an SLO
  can only be closed by incidents and burn alerts).

Every state change is an event ``{service, state, previous, reasons, at,
version}``; ``at`` is the event time at which the book noticed it (an
incident event, an alert, or :meth:`GateBook.advance`), ``version`` counts the
service's changes from 1. :meth:`GateBook.decision` is the JSON document a
pipeline acts on; :meth:`GateBook.state_document` holds every service's
decision for the gate state file read by ``correlator gate --state``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from correlator.budget.burn import BurnSignal, BurnSource, BurnSpeed, recognise_burn_alert
from correlator.budget.config import GateConfig
from correlator.budget.ledger import LONG_BURN_SECONDS, BudgetLedger, BudgetStatus
from correlator.changes.scope import event_time
from correlator.codecs.timefmt import format_rfc3339
from correlator.model import Alert
from topology import SLO, Topology

__all__ = ["GATE_STATE_KIND", "GateBook", "GateReason", "GateState"]

GATE_STATE_KIND = "correlator.gate_state"
GATE_SCHEMA_VERSION = 1
_PRUNE_EVERY_SECONDS = 600.0


class GateState(StrEnum):
    OPEN = "open"
    CAUTION = "caution"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class GateReason:
    """Why a gate is not open: a stable ``code``, a sentence, and references."""

    code: str
    message: str
    refs: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **dict(sorted(self.refs.items()))}


@dataclass(slots=True)
class _Gate:
    state: GateState = GateState.OPEN
    since: float | None = None
    version: int = 0


@dataclass(slots=True)
class _Burn:
    service: str
    signal: BurnSignal
    last_seen: float


def _iso(ts: float | None) -> str | None:
    return None if ts is None else format_rfc3339(datetime.fromtimestamp(ts, UTC))


class GateBook:
    """Gate states of every service, kept current from incidents, alerts and time."""

    def __init__(self, topology: Topology, config: GateConfig | None = None,
                 ledger: BudgetLedger | None = None) -> None:
        self._config = config or GateConfig()
        self._ledger = ledger or BudgetLedger(self._config)
        self._gates: dict[str, _Gate] = {}
        self._burns: dict[str, _Burn] = {}  # fingerprint -> active burn alert
        self._now: float | None = None
        self._next_prune: float | None = None
        self._topology = topology
        self._slos: dict[str, SLO] = {}
        self.set_topology(topology)

    # ---------------------------------------------------------------- inputs

    @property
    def ledger(self) -> BudgetLedger:
        return self._ledger

    @property
    def config(self) -> GateConfig:
        return self._config

    @property
    def now(self) -> datetime | None:
        return None if self._now is None else datetime.fromtimestamp(self._now, UTC)

    def set_topology(self, topology: Topology) -> None:
        """Swap the topology (SLOs and aliases come from it)."""
        self._topology = topology
        self._slos = {sid: svc.slo for sid, svc in sorted(topology.services.items())
                      if svc.slo is not None}

    def slo(self, service: str) -> SLO | None:
        return self._slos.get(service)

    def resolve(self, name: str) -> str:
        """Topology id of a service name or alias, else the name itself."""
        return self._topology.resolve(name) or name

    def _tick(self, t: float | None) -> float | None:
        if t is not None and (self._now is None or t > self._now):
            self._now = t
        return self._now

    def observe_incident(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Fold an incident event (dict as published) in; returns gate change events."""
        touched = self._ledger.observe(event)
        if self._now is None:
            first = event_time(event, "updated_at") or event_time(event, "opened_at")
            self._tick(None if first is None else first.timestamp())
        return self._recompute(touched)

    def observe_alert(self, alert: Alert) -> list[dict[str, Any]]:
        """Fold an alert in; only burn-rate alerts matter. Returns gate change events."""
        signal = recognise_burn_alert(alert)
        if signal is None:
            return []
        seen = alert.event_time
        if self._now is None:
            self._tick(seen.timestamp() if seen is not None else alert.starts_at.timestamp())
        service = self.resolve(signal.service)
        touched = {service}
        old = self._burns.pop(signal.fingerprint, None)
        if old is not None:
            touched.add(old.service)
        if signal.firing:
            at = seen.timestamp() if seen is not None else (self._now or 0.0)
            self._burns[signal.fingerprint] = _Burn(service, signal, at)
        return self._recompute(touched)

    def advance(self, now: datetime) -> list[dict[str, Any]]:
        """Move event time forward and re-check every time-dependent gate.

        Gates held by open incidents change only when an incident event
        arrives; budgets, burn rates and burn-alert expiry change with time.
        """
        current = self._tick(now.timestamp())
        services = {s for s in self._slos if self._ledger.has_history(s)}
        services.update(b.service for b in self._burns.values())
        self._expire_burns()
        if current is not None and (self._next_prune is None or current >= self._next_prune):
            self._ledger.prune(datetime.fromtimestamp(current, UTC), self._keep_seconds())
            self._next_prune = current + _PRUNE_EVERY_SECONDS
        return self._recompute(services)

    def _keep_seconds(self) -> float:
        """Resolved incidents matter for the longest SLO window, or the 1 h burn window."""
        windows = [float(slo.window_seconds) for slo in self._slos.values()]
        return max([LONG_BURN_SECONDS, *windows])

    def _expire_burns(self) -> None:
        if self._now is None:
            return
        ttl = self._config.burn_alert_ttl.total_seconds()
        for fp in sorted(self._burns):
            if self._burns[fp].last_seen + ttl < self._now:
                del self._burns[fp]

    # ---------------------------------------------------------------- evaluation

    def budget(self, service: str) -> BudgetStatus | None:
        """The service's budget position now, or None without an SLO or a clock."""
        slo = self._slos.get(service)
        if slo is None or self._now is None:
            return None
        return self._ledger.status(service, slo, datetime.fromtimestamp(self._now, UTC))

    def active_burns(self, service: str) -> list[BurnSignal]:
        """Burn-rate alerts firing for the service, fast first, then by SLO name."""
        if self._now is None or not self._burns:
            return []
        ttl = self._config.burn_alert_ttl.total_seconds()
        found = [b.signal for b in self._burns.values()
                 if b.service == service and b.last_seen + ttl >= self._now]
        return sorted(found, key=lambda s: (s.speed is not BurnSpeed.FAST, s.slo, s.fingerprint))

    def fast_burn(self, service: str, status: BudgetStatus | None = None) -> bool:
        """A fast-burn alert fires, or the computed 1 h and 5 min burn rates are both high."""
        if any(s.speed is BurnSpeed.FAST for s in self.active_burns(service)):
            return True
        status = status if status is not None else self.budget(service)
        rate = self._config.fast_burn_rate
        return status is not None and status.burn_rate_1h >= rate and status.burn_rate_5m >= rate

    def _state(self, service: str) -> GateState:
        """The state :meth:`_reasons` gives, without writing the reasons.

        Most re-checks (every incident event re-checks its services) find the state
        unchanged; the reason texts are only needed when it changes. Keep the two in
        step: every condition here is one of :meth:`_reasons`, in the same terms.
        """
        severities = self._config.close_severities
        for item in self._ledger.impairments(service):
            if item.is_open and item.severity in severities:
                return GateState.CLOSED
        burns = self.active_burns(service)
        if any(signal.speed is BurnSpeed.FAST for signal in burns):
            return GateState.CLOSED
        status = self.budget(service)
        if status is not None:
            rate = self._config.fast_burn_rate
            if status.burn_rate_1h >= rate and status.burn_rate_5m >= rate:
                return GateState.CLOSED
            if status.remaining < self._config.caution_budget_below:
                return GateState.CAUTION
        return GateState.CAUTION if burns else GateState.OPEN

    def _reasons(self, service: str) -> tuple[GateState, list[GateReason]]:
        closing: list[GateReason] = []
        caution: list[GateReason] = []
        severities = self._config.close_severities
        for item in self._ledger.impairing(service):
            if item.is_open and item.severity in severities:
                role = "root_cause" if item.root == service else "blast_radius"
                where = ("is its root cause" if role == "root_cause"
                         else "is in its blast radius")
                closing.append(GateReason(
                    "incident_open",
                    f"{item.severity} incident {item.incident} is open and {service} {where}",
                    {"incident": item.incident, "severity": item.severity, "role": role},
                ))
        for signal in self.active_burns(service):
            code = "fast_burn_alert" if signal.speed is BurnSpeed.FAST else "slow_burn_alert"
            reason = GateReason(
                code,
                f"{signal.source.value} reports a {signal.speed.value} burn of SLO {signal.slo}",
                {"source": signal.source.value, "slo": signal.slo,
                 "fingerprint": signal.fingerprint},
            )
            (closing if signal.speed is BurnSpeed.FAST else caution).append(reason)
        status = self.budget(service)
        if status is not None:
            rate = self._config.fast_burn_rate
            if status.burn_rate_1h >= rate and status.burn_rate_5m >= rate:
                closing.append(GateReason(
                    "fast_burn",
                    f"error budget burns {status.burn_rate_1h:.1f}x over 1h and "
                    f"{status.burn_rate_5m:.1f}x over 5m (threshold {rate:g}x)",
                    {"burn_rate_1h": round(status.burn_rate_1h, 2),
                     "burn_rate_5m": round(status.burn_rate_5m, 2), "threshold": rate},
                ))
            threshold = self._config.caution_budget_below
            if status.remaining < threshold:
                caution.append(GateReason(
                    "budget_low",
                    f"{max(status.remaining, 0.0):.1%} of the error budget is left "
                    f"(below {threshold:.0%})",
                    {"budget_remaining": round(status.remaining, 4), "threshold": threshold},
                ))
        if closing:
            return GateState.CLOSED, closing + caution
        if caution:
            return GateState.CAUTION, caution
        return GateState.OPEN, []

    def _recompute(self, services: set[str] | frozenset[str]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if self._now is None:
            return events
        for service in sorted(services):
            gate = self._gates.get(service)
            previous = gate.state if gate is not None else GateState.OPEN
            if self._state(service) is previous:
                continue
            state, reasons = self._reasons(service)
            if gate is None:
                gate = self._gates[service] = _Gate()
            gate.state, gate.since, gate.version = state, self._now, gate.version + 1
            events.append({
                "service": service,
                "state": state.value,
                "previous": previous.value,
                "reasons": [r.to_dict() for r in reasons],
                "at": _iso(self._now),
                "version": gate.version,
            })
        return events

    # ---------------------------------------------------------------- snapshots

    def snapshot(self) -> dict[str, Any]:
        """Plain JSON-ready state: clock, gate states, firing burn alerts and the ledger."""
        return {
            "now": self._now,
            "next_prune": self._next_prune,
            "gates": {s: [g.state.value, g.since, g.version]
                      for s, g in sorted(self._gates.items())},
            "burns": {
                fp: [b.service, b.signal.service, b.signal.slo, b.signal.speed.value,
                     b.signal.source.value, b.last_seen]
                for fp, b in sorted(self._burns.items())
            },
            "ledger": self._ledger.snapshot(),
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Replace the state with a :meth:`snapshot`; raises ValueError/TypeError if malformed."""
        now, prune = data["now"], data["next_prune"]
        self._now = None if now is None else float(now)
        self._next_prune = None if prune is None else float(prune)
        self._gates = {
            str(service): _Gate(GateState(state), None if since is None else float(since),
                                int(version))
            for service, (state, since, version) in dict(data["gates"]).items()
        }
        self._burns = {
            str(fp): _Burn(str(key), BurnSignal(str(service), str(slo), BurnSpeed(speed),
                                                BurnSource(source), str(fp), True),
                           float(seen))
            for fp, (key, service, slo, speed, source, seen) in dict(data["burns"]).items()
        }
        self._ledger.restore(data["ledger"])

    # ---------------------------------------------------------------- outputs

    def state_of(self, service: str) -> GateState:
        gate = self._gates.get(service)
        return gate.state if gate is not None else GateState.OPEN

    def decision(self, service: str) -> dict[str, Any] | None:
        """The gate decision document for a service (id or alias); None if unknown.

        Services outside the topology are known only once something (an
        incident or a burn alert) named them.
        """
        key = self._topology.resolve(service)
        if key is None:
            named = service in self._gates or any(b.service == service
                                                  for b in self._burns.values())
            if not named and not self._ledger.has_history(service):
                return None
            key = service
        return self._decision(key)

    def _decision(self, service: str) -> dict[str, Any]:
        state, reasons = self._reasons(service) if self._now is not None else (GateState.OPEN, [])
        gate = self._gates.get(service)
        status = self.budget(service)
        slo_doc: dict[str, Any] | None = None
        if status is not None:
            slo_doc = {**status.to_dict(), "fast_burn": self.fast_burn(service, status)}
        return {
            "service": service,
            "state": state.value,
            "reasons": [r.to_dict() for r in reasons],
            "since": _iso(gate.since) if gate is not None else None,
            "as_of": _iso(self._now),
            "version": gate.version if gate is not None else 0,
            "known_service": service in self._topology,
            "slo": slo_doc,
        }

    def state_document(self) -> dict[str, Any]:
        """Every service's decision, for the gate state file (``correlator gate --state``)."""
        services = set(self._topology.services) | set(self._gates)
        aliases = {
            alias: sid
            for sid, svc in sorted(self._topology.services.items())
            for alias in svc.aliases
        }
        return {
            "kind": GATE_STATE_KIND,
            "schema_version": GATE_SCHEMA_VERSION,
            "as_of": _iso(self._now),
            "topology_version": self._topology.version,
            "config": self._config.to_dict(),
            "services": {s: self._decision(s) for s in sorted(services)},
            "aliases": dict(sorted(aliases.items())),
        }
