"""The correlation engine: pure, deterministic, clock-free.

``ingest`` folds one alert into the state; ``advance`` moves event time
forward and emits coalesced incident events; ``snapshot``/``restore`` make the
state durable. The output depends only on the sequence of calls, never on
wall-clock time or on how often ``advance`` is called between ingests: every
grouping decision is a function of event times, and time-based state changes
(timeouts, eviction) are applied lazily with the same predicates wherever
they matter, so physical eviction timing cannot change a result.

Stages, in the Alertmanager spirit, stay separate:

1. dedup by fingerprint (:meth:`Engine._update_member`),
2. grouping into session windows over the topology (:meth:`Engine._place`),
3. root-cause ranking at emission time (:mod:`correlator.rootcause`).
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

from correlator import windows
from correlator.config import EngineConfig
from correlator.errors import SnapshotError
from correlator.incident import (
    IncidentEvent,
    IncidentStatus,
    JoinedBy,
    JoinReason,
    MemberView,
)
from correlator.model import Alert, Severity, Status
from correlator.resolution import ServiceResolver
from correlator.rootcause import ServiceSignal, rank_candidates
from topology import Topology

SNAPSHOT_FORMAT = 1
_UNKNOWN_PREFIX = "\x00"  # index key prefix keeping unknown names apart from topology ids
_RELATED_CACHE_LIMIT = 50_000


class NoticeKind(StrEnum):
    LATE = "late"  # arrived behind the watermark; see incident_id for where it went
    FUTURE = "future"  # quarantined: stamped too far ahead of the newest event time
    STALE = "stale"  # a re-send of an alert whose incident already closed


@dataclass(frozen=True, slots=True)
class AlertNotice:
    """An explicit side output of :meth:`Engine.ingest` (nothing is dropped silently)."""

    kind: NoticeKind
    alert: Alert
    reason: str
    incident_id: str | None = None


@dataclass(slots=True)
class EngineStats:
    """Counters over the engine's lifetime (part of the snapshot)."""

    alerts: int = 0
    duplicates: int = 0
    late: int = 0
    future: int = 0
    stale: int = 0
    incidents_opened: int = 0
    incidents_merged: int = 0
    incidents_resolved: int = 0
    events: int = 0
    flapping: int = 0

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]


class _Member:
    """Mutable state of one member alert inside an incident."""

    __slots__ = (
        "count",
        "ends_at",
        "fingerprint",
        "flaps",
        "flapping",
        "joined",
        "key",
        "known",
        "late",
        "name",
        "service",
        "severity",
        "starts_at",
        "status",
        "summary",
    )

    def __init__(
        self,
        alert: Alert,
        service: str,
        known: bool,
        key: str,
        starts_at: float,
        ends_at: float | None,
        joined: JoinedBy,
        late: bool,
    ) -> None:
        self.fingerprint = alert.fingerprint
        self.service = service
        self.known = known
        self.key = key
        self.name = alert.name
        self.severity = alert.severity
        self.status = alert.status
        self.summary = alert.summary
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.count = 1
        self.flaps = 0
        self.flapping = False
        self.late = late
        self.joined = joined

    def view(self) -> MemberView:
        return MemberView(
            fingerprint=self.fingerprint,
            service=self.service,
            known_service=self.known,
            name=self.name,
            severity=self.severity.value,
            status=self.status.value,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            count=self.count,
            flapping=self.flapping,
            late=self.late,
            summary=self.summary,
            joined=self.joined,
        )


class _Incident:
    """Mutable state of one incident."""

    __slots__ = (
        "created_at",
        "first_at",
        "first_emitted_at",
        "id",
        "last_activity",
        "last_related",
        "members",
        "merged_into",
        "previous",
        "records",
        "resolved_at",
        "resolved_reason",
        "seq",
        "key_via",
        "retired",
        "service_counts",
        "updated_at",
        "version",
    )

    def __init__(self, incident_id: str, seq: int, created_at: float, previous: str | None) -> None:
        self.id = incident_id
        self.seq = seq
        self.created_at = created_at  # event time of the alert that opened it
        self.first_at = created_at  # earliest member event time (a late root moves it back)
        self.last_related = created_at  # newest related firing alert: drives the session gap
        self.last_activity = created_at  # newest alert/re-send/resolve: drives the timeout
        self.updated_at = created_at
        self.members: dict[str, _Member] = {}
        self.service_counts: dict[str, int] = {}
        self.key_via: dict[str, str] = {}  # first member fingerprint per service key
        self.retired = False  # closed for good; kept only until its last event is out
        self.version = 0
        self.first_emitted_at: float | None = None
        self.resolved_at: float | None = None
        self.resolved_reason: str | None = None
        self.merged_into: str | None = None
        self.previous = previous
        self.records = 0

    @property
    def emitted(self) -> bool:
        return self.version > 0

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None

    def all_resolved(self) -> bool:
        return all(m.status is Status.RESOLVED for m in self.members.values())


@dataclass(slots=True)
class _Match:
    incident: _Incident
    hops: int
    key: str  # the member service key it relates through


@dataclass(slots=True)
class _Closed:
    """What is remembered of an evicted incident's fingerprint."""

    incident_id: str
    starts_at: float
    closed_at: float


@dataclass(slots=True)
class _Timers:
    """A lazy timer heap: entries are re-validated when they fire."""

    heap: list[tuple[float, int, str]] = field(default_factory=list)

    def schedule(self, due: float, incident: _Incident) -> None:
        heapq.heappush(self.heap, (due, incident.seq, incident.id))

    def pop_due(self, clock: float) -> list[str]:
        due: list[str] = []
        while self.heap and self.heap[0][0] <= clock:
            due.append(heapq.heappop(self.heap)[2])
        return due


def _ts(value: datetime) -> float:
    return value.timestamp()


class Engine:
    """Correlates alerts into incidents over a service topology."""

    def __init__(self, topology: Topology, config: EngineConfig | None = None) -> None:
        self._config = config or EngineConfig()
        cfg = self._config
        self._gap = cfg.gap.total_seconds()
        self._hold = cfg.hold.total_seconds()
        self._lateness = cfg.allowed_lateness.total_seconds()
        self._lifetime = cfg.max_lifetime.total_seconds()
        self._timeout = cfg.inactivity_timeout.total_seconds()
        self._reopen = cfg.reopen_window.total_seconds()
        self._future = cfg.max_future_skew.total_seconds()
        self._retention = cfg.closed_retention.total_seconds()
        self._topology = topology
        self._resolver = ServiceResolver(topology, cfg.service_label_keys)
        self._related_cache: dict[str, Mapping[str, int]] = {}
        self._reset_state()

    def _reset_state(self) -> None:
        self._clock: float | None = None
        self._seq = 0
        self._incidents: dict[str, _Incident] = {}
        self._by_fp: dict[str, str] = {}
        self._by_key: dict[str, dict[str, None]] = {}
        self._dirty: dict[str, None] = {}
        self._timers = _Timers()
        self._closed: dict[str, _Closed] = {}
        self._closed_order: list[tuple[float, str]] = []
        self._used_ids: dict[str, None] = {}
        self.stats = EngineStats()

    # ------------------------------------------------------------------ API

    @property
    def config(self) -> EngineConfig:
        return self._config

    @property
    def topology(self) -> Topology:
        return self._topology

    def set_topology(self, topology: Topology) -> None:
        """Swap the topology atomically; open incidents keep their members."""
        self._topology = topology
        self._resolver = ServiceResolver(topology, self._config.service_label_keys)
        self._related_cache = {}

    @property
    def clock(self) -> datetime | None:
        """The newest event time seen (or advanced to)."""
        return None if self._clock is None else datetime.fromtimestamp(self._clock, UTC)

    @property
    def watermark(self) -> datetime | None:
        if self._clock is None:
            return None
        return datetime.fromtimestamp(windows.watermark(self._clock, self._lateness), UTC)

    @property
    def open_incidents(self) -> int:
        return sum(1 for inc in self._incidents.values() if inc.merged_into is None and not inc.resolved)

    def ingest(self, alert: Alert) -> list[AlertNotice]:
        """Fold one alert into the state.

        Returns explicit side outputs (late, future-dated, stale alerts);
        incident changes are emitted, coalesced, by :meth:`advance`.
        """
        self.stats.alerts += 1
        clock = self._clock
        event = alert.event_time
        t = _ts(event) if event is not None else (clock if clock is not None else _ts(alert.starts_at))
        if windows.is_future(t, clock, self._future):
            self.stats.future += 1
            return [
                AlertNotice(
                    NoticeKind.FUTURE,
                    alert,
                    f"event time {event.isoformat() if event else '?'} is more than "
                    f"{self._future:g}s ahead of the newest event time seen",
                )
            ]
        watermark = None if clock is None else windows.watermark(clock, self._lateness)
        if clock is None or t > clock:
            self._clock = t
        incident_id = self._by_fp.get(alert.fingerprint)
        if incident_id is not None:
            incident = self._incidents[incident_id]
            self._settle_timeout(incident)
            if not self._retire_if_closed(incident):
                self._update_member(incident, alert, t)
                return []
        closed = self._closed.get(alert.fingerprint)
        if closed is not None and closed.starts_at == _ts(alert.starts_at):
            self.stats.stale += 1
            self.stats.duplicates += 1
            return [
                AlertNotice(
                    NoticeKind.STALE, alert, "re-send of an alert whose incident is closed",
                    closed.incident_id,
                )
            ]
        late = windows.is_late(t, watermark)
        incident = self._place(alert, t, late)
        if late:
            self.stats.late += 1
            return [AlertNotice(NoticeKind.LATE, alert, "event time behind the watermark", incident.id)]
        return []

    def ingest_many(self, alerts: Iterable[Alert]) -> list[AlertNotice]:
        notices: list[AlertNotice] = []
        for alert in alerts:
            notices.extend(self.ingest(alert))
        return notices

    def advance(self, watermark: datetime | None = None) -> list[IncidentEvent]:
        """Move event time to at least ``watermark`` and emit pending changes.

        ``advance()`` with no argument just flushes what the ingested alerts
        made due. A stream processor calls it from a timer so that incidents
        are emitted and resolved even when input pauses.
        """
        if watermark is not None:
            target = _ts(watermark) + self._lateness
            if self._clock is None or target > self._clock:
                self._clock = target
        if self._clock is None:
            return []
        clock = self._clock
        for incident_id in self._timers.pop_due(clock):
            incident = self._incidents.get(incident_id)
            if incident is not None:
                self._on_timer(incident, clock)
        self._forget_closed()
        if not self._dirty:
            return []
        ready = [self._incidents[i] for i in self._dirty if i in self._incidents]
        ready.sort(key=lambda inc: inc.seq)
        events: list[IncidentEvent] = []
        for incident in ready:
            if not incident.emitted and not windows.hold_expired(
                created_at=incident.created_at, hold=self._hold, clock=clock
            ):
                continue
            del self._dirty[incident.id]
            if incident.merged_into is not None and not incident.emitted:
                del self._incidents[incident.id]  # never shown: nothing to retract
                continue
            events.append(self._emit(incident, clock))
            if incident.merged_into is not None or incident.retired:
                del self._incidents[incident.id]
        return events

    def flush(self) -> list[IncidentEvent]:
        """Advance past every open window so that each incident reaches its final state.

        Used at the end of a replay. It moves event time just far enough for
        every hold and session gap to pass, not so far that inactivity
        timeouts fire on alerts that are still firing.
        """
        if self._clock is None:
            return []
        horizon = max(self._gap, self._hold) + 1.0
        target = self._clock + horizon
        return self.advance(datetime.fromtimestamp(target - self._lateness, UTC))

    def incidents(self) -> list[IncidentEvent]:
        """The current state of every incident in memory (no version bump)."""
        clock = self._clock or 0.0
        out = []
        for incident in sorted(self._incidents.values(), key=lambda i: i.seq):
            if incident.merged_into is None:
                out.append(self._build_event(incident, clock, incident.version))
        return out

    # ------------------------------------------------------------- dedup

    def _update_member(self, incident: _Incident, alert: Alert, t: float) -> None:
        """Fold a re-send, a re-fire or a resolve of a known fingerprint.

        Every change, a count bump included, marks the incident for the next
        (coalesced) emission, so that duplicate counts are visible downstream.
        """
        member = incident.members[alert.fingerprint]
        incident.records += 1
        member.count += 1
        incident.last_activity = max(incident.last_activity, self._clock or t)
        if alert.status is Status.FIRING:
            if member.status is Status.RESOLVED:
                # A resolved fingerprint fires again: count the flap, reopen.
                member.status = Status.FIRING
                member.ends_at = None
                member.starts_at = _ts(alert.starts_at)
                member.flaps += 1
                if member.flaps >= self._config.flap_threshold and not member.flapping:
                    member.flapping = True
                    self.stats.flapping += 1
                if incident.resolved:
                    incident.resolved_at = None
                    incident.resolved_reason = None
                incident.updated_at = max(incident.updated_at, t)
            else:
                self.stats.duplicates += 1
            if alert.severity.rank > member.severity.rank:
                member.severity = alert.severity
        elif member.status is Status.FIRING:
            member.status = Status.RESOLVED
            member.ends_at = t
            incident.updated_at = max(incident.updated_at, t)
            if incident.all_resolved():
                self._resolve(incident, max(m.ends_at or t for m in incident.members.values()), "alerts")
        else:
            self.stats.duplicates += 1
        self._touch(incident)

    # ------------------------------------------------------------ grouping

    def _place(self, alert: Alert, t: float, late: bool) -> _Incident:
        """Put a new fingerprint into a related incident, merging, or a new one."""
        service, known = self._resolver.resolve(alert)
        key = service if known else _UNKNOWN_PREFIX + service
        group_time = _ts(alert.starts_at) if alert.status is Status.RESOLVED else t
        if alert.status is Status.RESOLVED and alert.starts_at.year <= 1970:
            group_time = t
        matches, capped = self._matches(key, service, known, group_time)
        starts_at = _ts(alert.starts_at)
        ends_at = _ts(alert.ends_at) if alert.ends_at is not None else (
            t if alert.status is Status.RESOLVED else None
        )
        if not matches:
            incident = self._open(alert, group_time, capped)
            joined = JoinedBy(JoinReason.LATE if late else JoinReason.FIRST)
        else:
            matches.sort(key=lambda m: (m.incident.seq))
            incident = matches[0].incident
            for other in matches[1:]:
                if other.incident is not incident:
                    self._merge(other.incident, into=incident, via=alert.fingerprint)
            best = min(matches, key=lambda m: (m.hops, m.incident.seq, m.key))
            via = incident.members[incident.key_via[best.key]]
            if best.hops == 0:
                joined = JoinedBy(JoinReason.SAME_SERVICE, via=via.fingerprint, hops=0)
            else:
                joined = JoinedBy(
                    JoinReason.TOPOLOGY,
                    via=via.fingerprint,
                    hops=best.hops,
                    path=self._path_between(service, via.service),
                )
        member = _Member(alert, service, known, key, starts_at, ends_at, joined, late)
        self._add_member(incident, member)
        incident.records += 1
        incident.first_at = min(incident.first_at, group_time)
        if alert.status is Status.FIRING:
            incident.last_related = max(incident.last_related, group_time)
            if incident.resolved:
                incident.resolved_at = None
                incident.resolved_reason = None
        elif incident.all_resolved():
            self._resolve(incident, max(m.ends_at or t for m in incident.members.values()), "alerts")
        incident.last_activity = max(incident.last_activity, self._clock or t)
        incident.updated_at = max(incident.updated_at, t)
        self._touch(incident)
        return incident

    def _matches(
        self, key: str, service: str, known: bool, t: float
    ) -> tuple[list[_Match], str | None]:
        """Open incidents that accept an alert of ``service`` at ``t``.

        Also returns the newest related incident that refused it only because
        its lifetime cap ran out, so that the new incident can link to it.
        """
        found: dict[str, _Match] = {}
        capped: _Incident | None = None
        if known:
            related = self._related(service)
            index = self._by_key
            if len(related) <= len(index):
                pairs = [(k, related[k]) for k in related if k in index]
            else:
                pairs = [(k, related[k]) for k in index if k in related]
        else:
            pairs = [(key, 0)] if key in self._by_key else []
        for other_key, hops in pairs:
            for incident_id in list(self._by_key.get(other_key, ())):
                incident = self._incidents[incident_id]
                if incident.merged_into is not None or self._retire_if_closed(incident):
                    continue
                if not self._accepts(incident, t):
                    if self._capped(incident, t) and (capped is None or incident.seq > capped.seq):
                        capped = incident
                    continue
                current = found.get(incident_id)
                if current is None or hops < current.hops:
                    found[incident_id] = _Match(incident, hops, other_key)
        return list(found.values()), (capped.id if capped is not None else None)

    def _capped(self, incident: _Incident, t: float) -> bool:
        return (
            t > incident.created_at + self._lifetime
            and incident.first_at - self._gap <= t <= incident.last_related + self._gap
        )

    def _accepts(self, incident: _Incident, t: float) -> bool:
        if incident.resolved and incident.resolved_at is not None and (
            t > incident.resolved_at + self._reopen
        ):
            return False
        return windows.session_accepts(
            first_at=incident.first_at,
            last_related_at=incident.last_related,
            created_at=incident.created_at,
            event_time=t,
            gap=self._gap,
            max_lifetime=self._lifetime,
        )

    def _related(self, service: str) -> Mapping[str, int]:
        """Services related to ``service``: itself, and those within max_hops
        along dependency edges in either direction (callers or callees, not
        siblings: two callers of a healthy database are unrelated)."""
        cached = self._related_cache.get(service)
        if cached is not None:
            return cached
        k = self._config.max_hops
        down = self._topology.neighbourhood(service, k, "dependencies")
        up = self._topology.neighbourhood(service, k, "dependents")
        merged = dict(up)
        for name, hops in down.items():
            if hops < merged.get(name, k + 1):
                merged[name] = hops
        if len(self._related_cache) >= _RELATED_CACHE_LIMIT:
            self._related_cache.clear()
        self._related_cache[service] = merged
        return merged

    def _path_between(self, a: str, b: str) -> tuple[str, ...] | None:
        k = self._config.max_hops
        return self._topology.dependency_path(a, b, k) or self._topology.dependency_path(b, a, k)

    def _open(self, alert: Alert, t: float, previous: str | None) -> _Incident:
        incident = _Incident(self._new_id(alert), self._seq, t, previous)
        self._seq += 1
        self._incidents[incident.id] = incident
        self.stats.incidents_opened += 1
        self._timers.schedule(t + self._hold, incident)
        return incident

    def _new_id(self, alert: Alert) -> str:
        """Deterministic id from the first alert's fingerprint and window start."""
        seed = f"{alert.fingerprint}|{alert.starts_at.isoformat()}"
        candidate = "inc-" + hashlib.sha256(seed.encode()).hexdigest()[:16]
        n = 1
        unique = candidate
        while unique in self._used_ids:
            n += 1
            unique = f"{candidate}-{n}"
        self._used_ids[unique] = None
        return unique

    def _add_member(self, incident: _Incident, member: _Member) -> None:
        incident.members[member.fingerprint] = member
        self._by_fp[member.fingerprint] = incident.id
        count = incident.service_counts.get(member.key, 0)
        incident.service_counts[member.key] = count + 1
        if count == 0:
            incident.key_via[member.key] = member.fingerprint
            self._by_key.setdefault(member.key, {})[incident.id] = None

    def _unindex(self, incident: _Incident) -> None:
        for key in incident.service_counts:
            ids = self._by_key.get(key)
            if ids is not None:
                ids.pop(incident.id, None)
                if not ids:
                    del self._by_key[key]
        for fp in incident.members:
            if self._by_fp.get(fp) == incident.id:
                del self._by_fp[fp]

    def _merge(self, absorbed: _Incident, *, into: _Incident, via: str) -> None:
        """Move every member of ``absorbed`` into the older ``into``."""
        self._unindex(absorbed)
        for member in absorbed.members.values():
            member.joined = JoinedBy(JoinReason.MERGE, via=via)
            self._add_member(into, member)
            if member.key not in into.key_via:
                into.key_via[member.key] = member.fingerprint
        into.first_at = min(into.first_at, absorbed.first_at)
        into.last_related = max(into.last_related, absorbed.last_related)
        into.last_activity = max(into.last_activity, absorbed.last_activity)
        into.updated_at = max(into.updated_at, absorbed.updated_at)
        into.records += absorbed.records
        if not into.all_resolved():
            into.resolved_at = None
            into.resolved_reason = None
        absorbed.merged_into = into.id
        self.stats.incidents_merged += 1
        self._touch(absorbed)
        self._touch(into)

    # ----------------------------------------------------------- lifecycle

    def _resolve(self, incident: _Incident, at: float, reason: str) -> None:
        if incident.resolved:
            return
        incident.resolved_at = at
        incident.resolved_reason = reason
        self.stats.incidents_resolved += 1
        self._timers.schedule(at + self._reopen, incident)

    def _settle_timeout(self, incident: _Incident) -> None:
        """Apply the inactivity timeout if its predicate holds now.

        Called wherever the incident is touched, so that the result does
        not depend on whether a timer has already fired.
        """
        clock = self._clock
        if (
            clock is not None
            and not incident.resolved
            and clock - incident.last_activity > self._timeout
        ):
            self._resolve(incident, incident.last_activity + self._timeout, "inactivity_timeout")
            self._touch(incident)

    def _closed_for_good(self, incident: _Incident) -> bool:
        """Resolved, and the watermark has passed its reopen window."""
        clock = self._clock
        return (
            clock is not None
            and incident.resolved_at is not None
            and windows.watermark(clock, self._lateness) > incident.resolved_at + self._reopen
        )

    def _retire_if_closed(self, incident: _Incident) -> bool:
        """Take a closed incident out of the indexes (lazily, wherever it is met).

        Its fingerprints move to the closed-alert memory, so late re-sends are
        recognised as stale. It stays in memory until its final event is out.
        """
        if incident.retired:
            return True
        if not self._closed_for_good(incident):
            return False
        assert incident.resolved_at is not None
        closed_at = incident.resolved_at + self._reopen
        self._unindex(incident)
        incident.retired = True
        for member in incident.members.values():
            self._closed[member.fingerprint] = _Closed(incident.id, member.starts_at, closed_at)
            self._closed_order.append((closed_at, member.fingerprint))
        if incident.id not in self._dirty:
            del self._incidents[incident.id]
        return True

    def _forget_closed(self) -> None:
        """Drop closed-alert memory older than the retention (bounded memory)."""
        if self._clock is None:
            return
        horizon = self._clock - self._retention
        order = self._closed_order
        if not order or order[0][0] >= horizon:
            return
        order.sort()
        drop = 0
        for closed_at, fp in order:
            if closed_at >= horizon:
                break
            entry = self._closed.get(fp)
            if entry is not None and entry.closed_at == closed_at:
                del self._closed[fp]
            drop += 1
        del order[:drop]

    def _on_timer(self, incident: _Incident, clock: float) -> None:
        if incident.merged_into is not None or incident.retired:
            return
        if not incident.emitted and windows.hold_expired(
            created_at=incident.created_at, hold=self._hold, clock=clock
        ):
            self._touch(incident)
        self._settle_timeout(incident)
        if self._retire_if_closed(incident):
            return
        if incident.resolved_at is not None:
            due = incident.resolved_at + self._reopen + self._lateness
        else:
            due = incident.last_activity + self._timeout
        self._timers.schedule(due + 1e-6, incident)

    def _touch(self, incident: _Incident) -> None:
        self._dirty[incident.id] = None

    # ------------------------------------------------------------- output

    def _emit(self, incident: _Incident, clock: float) -> IncidentEvent:
        incident.version += 1
        if incident.first_emitted_at is None:
            incident.first_emitted_at = clock
        self.stats.events += 1
        return self._build_event(incident, clock, incident.version)

    def _build_event(self, incident: _Incident, clock: float, version: int) -> IncidentEvent:
        if incident.merged_into is not None:
            status = IncidentStatus.MERGED
        elif incident.resolved:
            status = IncidentStatus.RESOLVED
        elif version <= 1:
            status = IncidentStatus.OPEN
        else:
            status = IncidentStatus.UPDATED
        members = sorted(incident.members.values(), key=lambda m: (m.starts_at, m.fingerprint))
        signals = _signals(members)
        candidates = rank_candidates(
            signals,
            self._topology,
            max_hops=self._config.rank_max_hops,
            max_candidates=self._config.max_candidates,
        )
        known = sorted({m.service for m in members if m.known})
        unknown = sorted({m.service for m in members if not m.known})
        severity = max((m.severity for m in members), key=lambda s: s.rank, default=Severity.INFO)
        return IncidentEvent(
            id=incident.id,
            version=version,
            status=status,
            merged_into=incident.merged_into,
            previous_incident=incident.previous,
            opened_at=incident.first_at,
            updated_at=incident.updated_at,
            resolved_at=incident.resolved_at,
            resolved_reason=incident.resolved_reason,
            first_emitted_at=incident.first_emitted_at if incident.first_emitted_at is not None else clock,
            severity=severity.value,
            title=_title(candidates[0].service if candidates else "?", known, unknown, members),
            candidates=candidates,
            alerts=tuple(m.view() for m in members),
            services=tuple(known),
            unknown_services=tuple(unknown),
            topology_version=self._topology.version,
            records=incident.records,
        )

    # ----------------------------------------------------------- snapshot

    def snapshot(self) -> bytes:
        """Serialise the full state (not the topology or config) deterministically."""
        state: dict[str, Any] = {
            "format": SNAPSHOT_FORMAT,
            "clock": self._clock,
            "seq": self._seq,
            "stats": self.stats.to_dict(),
            "used_ids": list(self._used_ids),
            "dirty": list(self._dirty),
            "timers": sorted(self._timers.heap),
            "closed": [
                [fp, c.incident_id, c.starts_at, c.closed_at] for fp, c in self._closed.items()
            ],
            "closed_order": self._closed_order,
            "incidents": [_dump_incident(inc) for inc in self._incidents.values()],
        }
        return orjson.dumps(state)

    def restore(self, data: bytes) -> None:
        """Replace the state with a snapshot taken by :meth:`snapshot`."""
        try:
            state = orjson.loads(data)
            if not isinstance(state, dict) or state.get("format") != SNAPSHOT_FORMAT:
                raise SnapshotError(
                    f"unsupported snapshot format {state.get('format') if isinstance(state, dict) else '?'}"
                )
            self._reset_state()
            self._clock = state["clock"]
            self._seq = state["seq"]
            for name, value in state["stats"].items():
                setattr(self.stats, name, value)
            self._used_ids = dict.fromkeys(state["used_ids"])
            self._timers.heap = [tuple(t) for t in state["timers"]]  # type: ignore[misc]
            heapq.heapify(self._timers.heap)
            self._closed = {fp: _Closed(i, s, c) for fp, i, s, c in state["closed"]}
            self._closed_order = [(float(c), str(fp)) for c, fp in state["closed_order"]]
            for raw in state["incidents"]:
                incident = _load_incident(raw)
                self._incidents[incident.id] = incident
                if not incident.retired:
                    for member in incident.members.values():
                        self._by_fp[member.fingerprint] = incident.id
                if incident.merged_into is None and not incident.retired:
                    for key in incident.service_counts:
                        self._by_key.setdefault(key, {})[incident.id] = None
            self._dirty = dict.fromkeys(state["dirty"])
        except SnapshotError:
            raise
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"corrupt engine snapshot: {exc}") from None


def _signals(members: list[_Member]) -> list[ServiceSignal]:
    """Aggregate members per service for ranking (members come sorted by start)."""
    first: dict[str, _Member] = {}
    worst: dict[str, Severity] = {}
    for m in members:
        if m.service not in first:
            first[m.service] = m
        if m.severity.rank > worst.get(m.service, Severity.INFO).rank or m.service not in worst:
            worst[m.service] = m.severity
    return [
        ServiceSignal(s, m.known, m.starts_at, m.fingerprint, worst[s]) for s, m in first.items()
    ]


def _title(root: str, known: list[str], unknown: list[str], members: list[_Member]) -> str:
    services = len(known) + len(unknown)
    firing = sum(1 for m in members if m.status is Status.FIRING)
    if services <= 1:
        names = sorted({m.name for m in members})
        what = names[0] if len(names) == 1 else f"{len(names)} alert kinds"
        return f"{root}: {what} ({len(members)} alerts, {firing} firing)"
    return f"{root} and {services - 1} related services degraded ({len(members)} alerts, {firing} firing)"


def _dump_incident(inc: _Incident) -> dict[str, Any]:
    return {
        "id": inc.id,
        "seq": inc.seq,
        "created_at": inc.created_at,
        "first_at": inc.first_at,
        "last_related": inc.last_related,
        "last_activity": inc.last_activity,
        "updated_at": inc.updated_at,
        "version": inc.version,
        "first_emitted_at": inc.first_emitted_at,
        "resolved_at": inc.resolved_at,
        "resolved_reason": inc.resolved_reason,
        "merged_into": inc.merged_into,
        "previous": inc.previous,
        "records": inc.records,
        "retired": inc.retired,
        "key_via": inc.key_via,
        "members": [
            {
                "fingerprint": m.fingerprint,
                "service": m.service,
                "known": m.known,
                "key": m.key,
                "name": m.name,
                "severity": m.severity.value,
                "status": m.status.value,
                "summary": m.summary,
                "starts_at": m.starts_at,
                "ends_at": m.ends_at,
                "count": m.count,
                "flaps": m.flaps,
                "flapping": m.flapping,
                "late": m.late,
                "joined": m.joined.to_dict(),
            }
            for m in inc.members.values()
        ],
    }


def _load_incident(raw: dict[str, Any]) -> _Incident:
    inc = _Incident(raw["id"], raw["seq"], raw["created_at"], raw["previous"])
    for name in (
        "first_at", "last_related", "last_activity", "updated_at", "version", "first_emitted_at",
        "resolved_at", "resolved_reason", "merged_into", "records", "retired", "key_via",
    ):
        setattr(inc, name, raw[name])
    for m in raw["members"]:
        member = _Member.__new__(_Member)
        member.fingerprint = m["fingerprint"]
        member.service = m["service"]
        member.known = m["known"]
        member.key = m["key"]
        member.name = m["name"]
        member.severity = Severity(m["severity"])
        member.status = Status(m["status"])
        member.summary = m["summary"]
        member.starts_at = m["starts_at"]
        member.ends_at = m["ends_at"]
        member.count = m["count"]
        member.flaps = m["flaps"]
        member.flapping = m["flapping"]
        member.late = m["late"]
        j = m["joined"]
        member.joined = JoinedBy(
            JoinReason(j["reason"]), j["via"], j["hops"], tuple(j["path"]) if j["path"] else None
        )
        inc.members[member.fingerprint] = member
        inc.service_counts[member.key] = inc.service_counts.get(member.key, 0) + 1
    return inc
