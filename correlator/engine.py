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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

from correlator import windows
from correlator.codecs import Decoded, decode_value, encode_canonical
from correlator.config import EngineConfig
from correlator.errors import SnapshotError
from correlator.incident import Candidate, IncidentEvent, IncidentStatus, JoinedBy, JoinReason
from correlator.model import Alert, Severity, Status
from correlator.resolution import ServiceResolver
from correlator.rootcause import ServiceSignal, rank_candidates
from correlator.state import (
    Closed,
    Incident,
    LinkIndex,
    Member,
    ParentRank,
    ShedSummary,
    TimeIndex,
    Timers,
    dump_incident,
    load_incident,
    settled_at,
)
from topology import Topology

SNAPSHOT_FORMAT = 1
_UNKNOWN_PREFIX = "\x00"  # index key prefix keeping unknown names apart from topology ids
_RELATED_CACHE_LIMIT = 50_000
#: Alerts at the old event time after which a held future-dated alert is rejected.
HELD_WITNESSES = 3
#: Closest alerts in time a time-only link considers (bounds the cost in a storm).
TIME_LINK_CANDIDATES = 32
#: Most future-dated alerts held at once; the oldest is rejected beyond it.
MAX_HELD = 1000


@dataclass(slots=True)
class Held:
    """A future-dated alert waiting for a second witness (see ``Engine._hold_future``)."""

    t: float
    alert: Alert
    against: int = 0


def _held_order(held: Held) -> tuple[float, str]:
    return held.t, held.alert.fingerprint


def _iso_or_unknown(alert: Alert) -> str:
    event = alert.event_time
    return event.isoformat() if event is not None else "?"

# Link tiers, strongest first (the first element of a ParentRank).
TIER_EXPLAINER = 0  # a dependency's alert, started within link_window
TIER_PEER = 1  # a same-service alert within gap
TIER_LATE_CAUSE = 2  # a dependency's alert started up to cause_lag after the symptom
TIER_NEARBY = 3  # fallback: within max_hops in any direction (proximity_window)
TIER_TIME = 4  # fallback: a service outside the topology, by time alone


class NoticeKind(StrEnum):
    LATE = "late"  # arrived behind the watermark; see incident_id for where it went
    FUTURE = "future"  # rejected: stamped far ahead, and the alerts after it did not follow
    HELD = "held"  # stamped far ahead of the newest event time: held until confirmed
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
    shed: int = 0  # settled members dropped from open incidents (member_retention)

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


def _ts(value: datetime) -> float:
    return value.timestamp()


class Engine:
    """Correlates alerts into incidents over a service topology."""

    def __init__(self, topology: Topology, config: EngineConfig | None = None) -> None:
        self._config = config or EngineConfig()
        cfg = self._config
        self._gap = cfg.gap.total_seconds()
        self._link_window = cfg.link_window.total_seconds()
        self._cause_lag = cfg.cause_lag.total_seconds()
        self._proximity = cfg.proximity_window.total_seconds()
        self._time_window = max(self._proximity, cfg.unknown_window.total_seconds())
        self._hold = cfg.hold.total_seconds()
        self._count_interval = cfg.count_update_interval.total_seconds()
        self._update_interval = cfg.update_interval.total_seconds()
        self._lateness = cfg.allowed_lateness.total_seconds()
        self._lifetime = cfg.max_lifetime.total_seconds()
        self._max_members = cfg.max_members
        self._member_retention = cfg.member_retention.total_seconds()
        self._timeout = cfg.inactivity_timeout.total_seconds()
        self._reopen = cfg.reopen_window.total_seconds()
        self._future = cfg.max_future_skew.total_seconds()
        self._retention = cfg.closed_retention.total_seconds()
        self._topology = topology
        self._resolver = ServiceResolver(topology, cfg.service_label_keys)
        self._reach_cache: dict[str, dict[str, Mapping[str, int]]] = {
            "dependencies": {},
            "dependents": {},
            "both": {},
        }
        self._reset_state()
        self._downward_links = self._links_point_down()

    def _reset_state(self) -> None:
        self._clock: float | None = None
        self._seq = 0
        self._incidents: dict[str, Incident] = {}
        self._by_fp: dict[str, str] = {}
        self._by_key: dict[str, TimeIndex] = {}  # service key -> live members by group time
        # Live members by group time, on services in and outside the topology:
        # time-only links look up the closest alerts instead of scanning every key.
        self._known_times = TimeIndex()
        self._unknown_times = TimeIndex()
        self._links = LinkIndex()  # service key -> live members by link strength
        self._dirty: dict[str, None] = {}
        self._counts_dirty: dict[str, None] = {}  # only duplicate counts changed
        self._timers = Timers()
        self._buffer: list[tuple[float, str]] = []  # reorder buffer: (event time, fingerprint)
        self._held: list[Held] = []  # future-dated alerts waiting for confirmation
        self._pending: dict[
            str, list[Alert]
        ] = {}  # buffered alerts per fingerprint, in arrival order
        self._closed: dict[str, Closed] = {}
        self._closed_order: list[tuple[float, str]] = []
        self._used_ids: dict[str, None] = {}  # ids in use or recently closed
        self._retired_ids: list[tuple[float, str]] = []  # (forgotten at, id)
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
        self._reach_cache = {"dependencies": {}, "dependents": {}, "both": {}}
        for incident in self._incidents.values():
            incident.ranked = None
        self._downward_links = self._links_point_down()

    def _links_point_down(self) -> bool:
        """Whether every link between known alerts goes down an acyclic topology.

        Then a link offered along a dependency edge can never close a loop in
        an explanation tree (see ``_place``), and the ancestor walk is skipped
        for it. Links kept from an older topology (a hot swap, a snapshot) must
        still follow the current one's edges for this to hold.
        """
        if self._proximity > 0 or not self._topology.is_acyclic():
            return False
        for incident in self._incidents.values():
            if not incident.live:
                continue
            for member in incident.members.values():
                rank = member.parent_rank
                if rank is None or rank[0] not in (TIER_EXPLAINER, TIER_LATE_CAUSE):
                    continue
                parent = incident.members.get(member.parent or "")
                if parent is None or parent.service not in self._reach(
                    member.service, "dependencies"
                ):
                    return False
        return True

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
        return sum(
            1 for inc in self._incidents.values() if inc.merged_into is None and not inc.resolved
        )

    def ingest(self, alert: Alert) -> list[AlertNotice]:
        """Fold one alert into the state.

        Returns explicit side outputs (late, future-dated, stale alerts);
        incident changes are emitted, coalesced, by :meth:`advance`.
        """
        self.stats.alerts += 1
        clock = self._clock
        event = alert.event_time
        t = (
            _ts(event)
            if event is not None
            else (clock if clock is not None else _ts(alert.starts_at))
        )
        if windows.is_future(t, clock, self._future):
            return self._hold_future(alert, t)
        notices = self._witness_against_held() if self._held else []
        notices.extend(self._accept(alert, t))
        return notices

    def held_fingerprints(self) -> frozenset[str]:
        """Fingerprints of the future-dated alerts held now (see ``_hold_future``)."""
        return frozenset(h.alert.fingerprint for h in self._held)

    # ------------------------------------------------------- future-dated input
    #
    # An alert stamped far ahead of everything seen is either a bad clock or
    # the first alert after a quiet spell (a night without alerts, a replay of
    # a day's history). One alert cannot tell which, so it is held, not
    # judged: a second alert near its time confirms that the stream moved on
    # (both are accepted), while alerts that keep arriving at the old time
    # are witnesses against it (after HELD_WITNESSES of them it is rejected
    # as future-dated). When event time catches up (a later watermark) or
    # input ends (flush) a held alert is accepted. Either way the caller is
    # told: HELD when it is held, FUTURE when it is finally rejected.

    def _hold_future(self, alert: Alert, t: float) -> list[AlertNotice]:
        me = alert.fingerprint
        friends = [
            h for h in self._held if abs(h.t - t) <= self._future and h.alert.fingerprint != me
        ]
        if friends:
            for held in friends:
                self._held.remove(held)
            notices: list[AlertNotice] = []
            for held in sorted([*friends, Held(t, alert)], key=_held_order):
                notices.extend(self._accept(held.alert, held.t))
            return notices
        self._held.append(Held(t, alert))
        notices = [
            AlertNotice(
                NoticeKind.HELD,
                alert,
                f"event time {_iso_or_unknown(alert)} is more than {self._future:g}s ahead of "
                "the newest event time seen; held until another alert confirms it",
            )
        ]
        if len(self._held) > MAX_HELD:
            notices.append(self._reject_held(self._held.pop(0), "too many alerts held"))
        return notices

    def _witness_against_held(self) -> list[AlertNotice]:
        """An alert at the old event time counts against every held one."""
        notices: list[AlertNotice] = []
        keep: list[Held] = []
        for held in self._held:
            held.against += 1
            if held.against >= HELD_WITNESSES:
                notices.append(
                    self._reject_held(held, f"the {held.against} alerts after it did not follow")
                )
            else:
                keep.append(held)
        self._held = keep
        return notices

    def _reject_held(self, held: Held, why: str) -> AlertNotice:
        self.stats.future += 1
        return AlertNotice(
            NoticeKind.FUTURE,
            held.alert,
            f"event time {_iso_or_unknown(held.alert)} is more than {self._future:g}s ahead "
            f"of the newest event time seen, and {why}",
        )

    def _release_held(self, *, everything: bool) -> None:
        """Accept held alerts that event time has caught up with (all of them at the end)."""
        if not self._held:
            return
        clock = self._clock
        ready: list[Held] = []
        waiting: list[Held] = []
        for held in self._held:
            due = everything or not windows.is_future(held.t, clock, self._future)
            (ready if due else waiting).append(held)
        if not ready:
            return
        self._held = waiting
        for held in sorted(ready, key=_held_order):
            self._accept(held.alert, held.t)

    def _accept(self, alert: Alert, t: float) -> list[AlertNotice]:
        """Take an alert whose time is plausible into the reorder buffer (or fold it)."""
        clock = self._clock
        watermark = None if clock is None else windows.watermark(clock, self._lateness)
        if clock is None or t > clock:
            self._clock = t
        notices: list[AlertNotice] = []
        pending = self._pending.get(alert.fingerprint)
        if pending is not None:
            pending.append(alert)  # still in the reorder buffer: keep its history in order
        elif windows.is_late(t, watermark):
            self._release_until(watermark)
            notice = self._fold(alert, t, late=True)
            if notice is not None:
                notices.append(notice)
        else:
            self._pending[alert.fingerprint] = [alert]
            heapq.heappush(self._buffer, (t, alert.fingerprint))
        self._release_until(windows.watermark(self._clock, self._lateness))  # type: ignore[arg-type]
        return notices

    def _release_until(self, watermark: float | None) -> None:
        """Fold buffered alerts whose event time the watermark has passed, in event-time order.

        Buffering on-time alerts for the allowed lateness and folding them in
        (event time, fingerprint) order makes the grouping independent of the
        arrival order inside the allowed lateness, by construction.
        """
        buffer = self._buffer
        while buffer and watermark is not None and buffer[0][0] <= watermark:
            _, fp = heapq.heappop(buffer)
            history = self._pending.pop(fp)
            # A fingerprint's notifications fold in arrival order, each once the watermark
            # has passed its own event time (an older re-send folds right after the one
            # before it); the rest waits, so a resolve folds at its own time however the
            # records around it arrived.
            done = 0
            for alert in history:
                event = alert.event_time
                t = _ts(event) if event is not None else watermark
                if done and t > watermark:
                    break
                self._fold(alert, t, late=False)
                done += 1
            if done < len(history):
                rest = self._pending[fp] = history[done:]
                event = rest[0].event_time
                heapq.heappush(buffer, (_ts(event) if event is not None else watermark, fp))

    def _fold(self, alert: Alert, t: float, *, late: bool) -> AlertNotice | None:
        """Dedup against the state, then place a new fingerprint."""
        incident_id = self._by_fp.get(alert.fingerprint)
        if incident_id is not None:
            incident = self._incidents[incident_id]
            self._settle_timeout(incident)
            # An on-time alert is judged where it sits in event time: the reorder
            # buffer releases it at whatever watermark the arriving record brings.
            if not self._retire_if_closed(incident, None if late else t):
                self._update_member(incident, alert, t)
                return None
        closed = self._closed.get(alert.fingerprint)
        if closed is not None and closed.starts_at == _ts(alert.starts_at):
            self.stats.stale += 1
            self.stats.duplicates += 1
            return AlertNotice(
                NoticeKind.STALE,
                alert,
                "re-send of an alert whose incident is closed",
                closed.incident_id,
            )
        incident = self._place(alert, t, late)
        if late:
            self.stats.late += 1
            return AlertNotice(
                NoticeKind.LATE, alert, "event time behind the watermark", incident.id
            )
        return None

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
            self._release_held(everything=False)
        if self._clock is None:
            return []
        clock = self._clock
        self._release_until(windows.watermark(clock, self._lateness))
        for incident_id in self._timers.pop_due(clock):
            incident = self._incidents.get(incident_id)
            if incident is not None:
                self._on_timer(incident, clock)
        self._forget_closed()
        self._promote_counts(clock, force=False)
        if not self._dirty:
            return []
        ready = [self._incidents[i] for i in self._dirty if i in self._incidents]
        ready.sort(key=lambda inc: inc.seq)
        events: list[IncidentEvent] = []
        for incident in ready:
            if not incident.emitted:
                if not windows.hold_expired(
                    created_at=incident.created_at, hold=self._hold, clock=clock
                ):
                    continue
            elif self._coalesced(incident, clock):
                continue
            del self._dirty[incident.id]
            if incident.merged_into is not None and not incident.emitted:
                self._drop(incident, clock)  # never shown: nothing to retract
                continue
            events.append(self._emit(incident, clock))
            if incident.merged_into is not None or incident.retired:
                self._drop(incident, clock)
        return events

    def _coalesced(self, incident: Incident, clock: float) -> bool:
        """Is this change to a published incident held back by ``update_interval``?

        Only growth and re-ranking wait; a change of state (resolved, reopened,
        merged, retired) is what subscribers act on, so it goes out at once. A
        held incident stays dirty and is looked at again on the next advance.
        """
        if incident.merged_into is not None or incident.retired:
            return False
        if incident.resolved != incident.published_resolved:
            return False
        last = incident.last_emitted_at
        return last is not None and clock - last < self._update_interval

    def _promote_counts(self, clock: float, *, force: bool) -> None:
        """Publish pending duplicate counts whose update interval has passed."""
        if not self._counts_dirty:
            return
        interval = self._count_interval
        keep: dict[str, None] = {}
        for incident_id in self._counts_dirty:
            incident = self._incidents.get(incident_id)
            if incident is None or incident_id in self._dirty:
                continue
            last = (
                incident.first_emitted_at
                if incident.last_emitted_at is None
                else incident.last_emitted_at
            )
            if force or last is None or clock - last >= interval:
                self._dirty[incident_id] = None
            else:
                keep[incident_id] = None
        self._counts_dirty = keep

    def flush(self) -> list[IncidentEvent]:
        """Advance past every open window so that each incident reaches its final state.

        Used at the end of a replay. It moves event time just far enough for
        every hold and session gap to pass, not so far that inactivity
        timeouts fire on alerts that are still firing.
        """
        self._release_held(everything=True)
        if self._clock is None:
            return []
        # Past the update interval too, so that no change is still held back by it.
        horizon = max(self._gap, self._hold, self._update_interval) + 1.0
        events = self.advance(datetime.fromtimestamp(self._clock + horizon, UTC))
        self._promote_counts(self._clock, force=True)
        return events + self.advance()

    def incidents(self) -> list[IncidentEvent]:
        """The current state of every incident in memory (no version bump)."""
        clock = self._clock or 0.0
        out = []
        for incident in sorted(self._incidents.values(), key=lambda i: i.seq):
            if incident.merged_into is None:
                out.append(self._build_event(incident, clock, incident.version))
        return out

    # ------------------------------------------------------------- dedup

    def _update_member(self, incident: Incident, alert: Alert, t: float) -> None:
        """Fold a re-send, a re-fire or a resolve of a known fingerprint.

        A state change marks the incident for the next (coalesced) emission.
        A pure duplicate only bumps counts: those are published at most once
        per ``count_update_interval`` of event time (and always on flush and
        with the next real change), so an Alertmanager re-send storm does not
        turn into an incident-event storm.
        """
        member = incident.members[alert.fingerprint]
        incident.records += 1
        member.count += 1
        incident.last_activity = max(incident.last_activity, self._clock or t)
        changed = False
        if alert.status is Status.FIRING:
            if member.status is Status.RESOLVED:
                # A resolved fingerprint fires again: count the flap, reopen.
                member.status = Status.FIRING
                incident.firing += 1
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
                changed = True
            else:
                self.stats.duplicates += 1
            if alert.severity.rank > member.severity.rank:
                member.severity = alert.severity
                changed = True
        elif member.status is Status.FIRING:
            member.status = Status.RESOLVED
            incident.firing -= 1
            member.ends_at = t
            self._queue_for_shedding(incident, member)
            incident.updated_at = max(incident.updated_at, t)
            if incident.all_resolved():
                self._resolve(
                    incident, max(m.ends_at or t for m in incident.members.values()), "alerts"
                )
            changed = True
        else:
            self.stats.duplicates += 1
        if changed:
            incident.ranked = None
            self._touch(incident)
        else:
            self._counts_dirty[incident.id] = None

    # ------------------------------------------------------------ grouping
    #
    # Incidents are trees of an "explanation forest": every member alert
    # links to the one alert that best explains it, an alert on a service it
    # depends on (within max_hops, nearest first, then closest in time), or
    # else a same-service peer. A root has no explainer. Linking each symptom
    # to ONE cause, instead of to everything related, keeps a top-level
    # symptom (a gateway calls everything) from welding concurrent faults and
    # noise into one incident. When a better explainer arrives later, links
    # move, so the result does not depend on arrival order: each alert ends
    # linked to its best explainer among the alerts whose windows it fits.

    def _place(self, alert: Alert, t: float, late: bool) -> Incident:
        """Put a new fingerprint into the forest; returns its incident."""
        service, known = self._resolver.resolve(alert)
        key = service if known else _UNKNOWN_PREFIX + service
        group_time = t
        if alert.status is Status.RESOLVED and alert.starts_at.year > 1970:
            group_time = _ts(alert.starts_at)
        member = Member()
        member.fingerprint = alert.fingerprint
        member.service = service
        member.known = known
        member.key = key
        member.name = alert.name
        member.severity = alert.severity
        member.status = alert.status
        member.summary = alert.summary
        member.starts_at = _ts(alert.starts_at)
        member.ends_at = (
            _ts(alert.ends_at)
            if alert.ends_at is not None
            else (t if alert.status is Status.RESOLVED else None)
        )
        member.group_time = group_time
        member.count = 1
        member.flaps = 0
        member.flapping = False
        member.late = late
        member.parent = None
        member.parent_rank = None
        member.children = {}

        parent, rank, capped = self._best_parent(member)
        explainees = self._explainees(member)
        if parent is not None and rank is not None:
            incident = self._incidents[parent.incident]
            self._link(member, parent, rank)
        else:
            roots = [self._incidents[z.incident] for z, _ in explainees if z.parent is None]
            if roots:
                incident = min(roots, key=lambda inc: inc.seq)
            else:
                incident = self._open(alert, group_time, capped)
            member.joined = JoinedBy(JoinReason.LATE if late else JoinReason.FIRST)
        self._add_member(incident, member)
        # A link must never close a loop (a dependency cycle, a same-service peer).
        # Relinking an explainee moves it under the new alert and never changes the
        # new alert's own ancestors, so they are collected once, and only if needed:
        # they all share its incident, and a known alert's ancestors lie at or below
        # it along dependency edges, so when every link points down an acyclic
        # topology, a dependency link (up to its dependents) cannot reach one.
        above: frozenset[int] | None = None
        for z, z_rank in explainees:
            if z.incident == member.incident and not (
                self._downward_links and z_rank[0] in (TIER_EXPLAINER, TIER_LATE_CAUSE)
            ):
                if above is None:
                    above = self._ancestors(member)
                if id(z) in above:
                    continue
            self._relink(z, member, z_rank)
        # Relinking may have merged the new alert's incident into an older one.
        incident = self._incidents[member.incident]
        incident.records += 1
        if alert.status is Status.FIRING and incident.resolved:
            incident.resolved_at = None
            incident.resolved_reason = None
        elif alert.status is Status.RESOLVED and incident.all_resolved():
            self._resolve(
                incident, max(m.ends_at or t for m in incident.members.values()), "alerts"
            )
        incident.last_activity = max(incident.last_activity, self._clock or t)
        incident.updated_at = max(incident.updated_at, t)
        if self._member_retention:
            self._shed_settled(incident)
        self._touch(incident)
        return incident

    def _best_parent(self, member: Member) -> tuple[Member | None, ParentRank | None, str | None]:
        """The best explainer among live members whose incident accepts this alert.

        Searches tier by tier, nearest hops first and, within a service, closest
        in time first, stopping at the first acceptable alert: the result is the
        minimum :data:`ParentRank` over all candidates, found without ranking
        every alert of a hot service. When there is none, also returns the
        newest related incident that refused the alert only because its
        lifetime cap ran out, so that a new incident can link to it.
        """
        t = member.group_time
        verdicts: dict[str, bool] = {}

        def acceptable(fp: str) -> bool:
            incident_id = self._by_fp[fp]
            verdict = verdicts.get(incident_id)
            if verdict is None:
                verdict = verdicts[incident_id] = self._accepts(self._incidents[incident_id], t)
            return verdict

        found: tuple[int, int, float, str] | None = None
        if member.known:
            lw, lag = self._link_window, self._cause_lag
            deps = self._active_within(self._reach(member.service, "dependencies"))
            found = self._closest_by_hops(deps, TIER_EXPLAINER, t=t, lo=t - lw,
                                          hi=t + min(lw, lag), acceptable=acceptable)
        if found is None:
            same = self._by_key.get(member.key)
            if same is not None:
                hit = _closest(same, t, t - self._gap, t + self._gap, acceptable,
                               exclude=member.fingerprint)
                if hit is not None:
                    found = (TIER_PEER, 0, *hit)
        if found is None and member.known and self._cause_lag > self._link_window:
            found = self._closest_by_hops(deps, TIER_LATE_CAUSE, t=t, lo=t + self._link_window,
                                          hi=t + self._cause_lag, acceptable=acceptable,
                                          beyond=self._link_window)
        if found is None and member.known and self._proximity > 0:
            near = self._proximity
            around = self._active_within(self._reach(member.service, "both"))
            found = self._closest_by_hops(around, TIER_NEARBY, t=t, lo=t - near, hi=t + near,
                                          acceptable=acceptable)
        if found is None and not member.known and self._time_window > 0:
            ranks = [
                (TIER_TIME, 0, abs(t - self._live_member(fp).group_time), fp)
                for fp in self._known_times.nearest(t, self._time_window, TIME_LINK_CANDIDATES)
                if acceptable(fp)
            ]
            found = min(ranks, default=None)
        if found is not None:
            return self._live_member(found[3]), found, None
        capped: Incident | None = None
        for y in self._link_candidates(member):
            incident = self._incidents[y.incident]
            if (not acceptable(y.fingerprint) and self._capped(incident, t)
                    and (capped is None or incident.seq > capped.seq)):
                capped = incident
        return None, None, (capped.id if capped is not None else None)

    def _closest_by_hops(
        self, keys: list[tuple[str, int]], tier: int, *, t: float, lo: float, hi: float,
        acceptable: Callable[[str], bool], beyond: float | None = None,
    ) -> ParentRank | None:
        """The best ``(tier, hops, offset, fp)`` in ``[lo, hi]`` over ``keys`` (sorted by
        hops): the fewest hops with an acceptable alert wins, then the closest one."""
        best: ParentRank | None = None
        for key, hops in keys:
            if hops <= 0:
                continue
            if best is not None and hops > best[1]:
                break
            hit = _closest(self._by_key[key], t, lo, hi, acceptable, beyond=beyond)
            if hit is not None:
                rank = (tier, hops, *hit)
                if best is None or rank < best:
                    best = rank
        return best

    def _explainees(self, member: Member) -> list[tuple[Member, ParentRank]]:
        """Live members for which this new alert is a better parent than their current one.

        Only the alerts that such a link could improve are visited (see
        :class:`~correlator.state.LinkIndex`); each is then ranked exactly.
        """
        t = member.group_time
        candidates: list[tuple[str, int, int]] = []  # (fp, tier, hops)
        links = self._links
        if member.known:
            lw, lag = self._link_window, self._cause_lag
            for key, hops in self._active_within(self._reach(member.service, "dependents")):
                if hops <= 0:
                    continue
                # A symptom at most link_window either side is explained (tier 0); one
                # up to cause_lag before it makes this alert a late cause (tier 2).
                for fp in links.could_take(key, (TIER_EXPLAINER, hops), t,
                                           t - min(lw, lag), t + lw):
                    candidates.append((fp, TIER_EXPLAINER, hops))
                if lag > lw:
                    for fp in links.could_take(key, (TIER_LATE_CAUSE, hops), t, t - lag, t - lw):
                        candidates.append((fp, TIER_EXPLAINER, hops))
            near = self._proximity
            if near > 0:
                for key, hops in self._active_within(self._reach(member.service, "both")):
                    if hops > 0:
                        for fp in links.could_take(key, (TIER_NEARBY, hops), t, t - near,
                                                   t + near):
                            candidates.append((fp, TIER_NEARBY, hops))
            far = self._time_window
            if far > 0:
                for fp in self._unknown_times.nearest(t, far, TIME_LINK_CANDIDATES):
                    candidates.append((fp, TIER_TIME, 0))
        for fp in links.could_take(member.key, (TIER_PEER, 0), t, t - self._gap, t + self._gap,
                                   roots_only=True):
            if fp != member.fingerprint:
                candidates.append((fp, TIER_PEER, 0))
        out: dict[str, tuple[Member, ParentRank]] = {}
        for fp, tier, hops in candidates:
            z = self._live_member(fp)
            rank = self._rank(child=z, parent=member, tier=tier, hops=hops)
            if rank is None or (z.parent_rank is not None and rank >= z.parent_rank):
                continue
            # A cause may start up to cause_lag after its symptoms, beyond the gap.
            slack = self._cause_lag if rank[0] == TIER_LATE_CAUSE else 0.0
            if not self._accepts(self._incidents[z.incident], t, slack=slack):
                continue
            current = out.get(z.fingerprint)
            if current is None or rank < current[1]:
                out[z.fingerprint] = (z, rank)
        found = list(out.values())
        found.sort(key=lambda item: (self._incidents[item[0].incident].seq, item[0].fingerprint))
        return found

    def _link_candidates(self, member: Member) -> Iterator[Member]:
        """Every live member that could explain ``member`` if its incident accepted it:
        the fallback scan that looks for a related incident refused only by its cap."""
        me = member.fingerprint
        t = member.group_time
        if member.known:
            lo, hi = t - self._link_window, t + self._cause_lag
            for key, hops in self._active_within(self._reach(member.service, "dependencies")):
                if hops > 0:
                    for fp in self._by_key[key].between(lo, hi):
                        yield self._live_member(fp)
            near = self._proximity
            if near > 0:
                for key, hops in self._active_within(self._reach(member.service, "both")):
                    if hops > 0:
                        for fp in self._by_key[key].between(t - near, t + near):
                            yield self._live_member(fp)
        elif self._time_window > 0:
            for fp in self._known_times.nearest(t, self._time_window, TIME_LINK_CANDIDATES):
                yield self._live_member(fp)
        same = self._by_key.get(member.key)
        if same is not None:
            for fp in same.between(t - self._gap, t + self._gap):
                if fp != me:
                    yield self._live_member(fp)

    def _rank(self, *, child: Member, parent: Member, tier: int, hops: int) -> ParentRank | None:
        """How good ``parent`` is as the link of ``child``; None if times do not fit.

        A dependency whose alert started within link_window of the symptom's
        explains it (tier 0). One that started later, up to cause_lag, is a
        *late cause* (tier 2): weaker than a same-service peer, so that it
        adopts only alerts nothing else explains (the top of a symptom tree),
        instead of pulling symptoms away from causes that were there in time.
        """
        offset = abs(child.group_time - parent.group_time)
        if tier == TIER_EXPLAINER:
            lag = parent.group_time - child.group_time
            if lag < -self._link_window or lag > self._cause_lag:
                return None
            if lag > self._link_window:
                tier = TIER_LATE_CAUSE
        elif tier == TIER_PEER:
            if offset > self._gap:
                return None
        elif offset > (self._time_window if tier == TIER_TIME else self._proximity):
            return None
        return (tier, hops, offset, parent.fingerprint)

    def _active_within(self, reach: Mapping[str, int]) -> list[tuple[str, int]]:
        """Service keys within reach that have live members, nearest first."""
        index = self._by_key
        if len(reach) <= len(index):
            found = [(k, h) for k, h in reach.items() if k in index]
        else:
            found = [(k, reach[k]) for k in index if k in reach]
        found.sort(key=lambda kh: (kh[1], kh[0]))
        return found

    def _live_member(self, fp: str) -> Member:
        return self._incidents[self._by_fp[fp]].members[fp]

    def _link(self, child: Member, parent: Member, rank: ParentRank) -> None:
        child.parent = parent.fingerprint
        child.parent_rank = rank
        parent.children[child.fingerprint] = None
        self._links.relinked(child)
        tier, hops = rank[0], rank[1]
        if tier == TIER_PEER:
            child.joined = JoinedBy(JoinReason.SAME_SERVICE, via=parent.fingerprint, hops=0)
        elif tier == TIER_TIME:
            child.joined = JoinedBy(JoinReason.TIME, via=parent.fingerprint)
        elif tier == TIER_NEARBY:
            child.joined = JoinedBy(
                JoinReason.NEARBY,
                via=parent.fingerprint,
                hops=hops,
                path=self._topology.path(child.service, parent.service, hops),
            )
        else:
            child.joined = JoinedBy(
                JoinReason.TOPOLOGY,
                via=parent.fingerprint,
                hops=hops,
                path=self._topology.dependency_path(child.service, parent.service, hops),
            )

    def _ancestors(self, member: Member) -> frozenset[int]:
        """Identities of ``member`` and every member above it in its tree."""
        incident = self._incidents[member.incident]
        found: set[int] = set()
        node: Member | None = member
        while node is not None and id(node) not in found:
            found.add(id(node))
            node = incident.members.get(node.parent) if node.parent is not None else None
        return frozenset(found)

    def _relink(self, z: Member, parent: Member, rank: ParentRank) -> None:
        """Make ``parent`` the explainer of ``z``, moving z's subtree if needed."""
        source = self._incidents[z.incident]
        target = self._incidents[parent.incident]
        was_root = z.parent is None
        if z.parent is not None:
            old = source.members.get(z.parent)
            if old is not None:
                old.children.pop(z.fingerprint, None)
        self._link(z, parent, rank)
        if source is target:
            return
        if was_root:
            # z's whole tree joins: a merge; the older incident keeps its id.
            survivor, absorbed = (target, source) if target.seq < source.seq else (source, target)
            self._merge(absorbed, into=survivor)
        else:
            self._move_subtree(z, source, target)

    def _move_subtree(self, z: Member, source: Incident, target: Incident) -> None:
        """Move z and its descendants to ``target`` (a split of ``source``)."""
        stack = [z]
        moved: list[Member] = []
        while stack:
            node = stack.pop()
            moved.append(node)
            stack.extend(source.members[c] for c in node.children if c in source.members)
        carried = False
        for node in moved:
            del source.members[node.fingerprint]
            source.firing -= node.status is Status.FIRING
            self._attach(target, node)
            if node.shed_below is not None:
                target.shed.absorb(node.shed_below)
                carried = True
        if carried:
            source.recompute_shed()
        source.ranked = None
        if carried or any(
            node.group_time <= source.first_at
            or (node.status is Status.FIRING and node.group_time >= source.last_related)
            for node in moved
        ):
            source.recompute_window()  # a bound may have left with the subtree
        if source.resolved and not source.all_resolved():
            source.resolved_at = None
            source.resolved_reason = None
        elif not source.resolved and source.all_resolved():
            self._resolve(source, max(m.ends_at or 0.0 for m in source.members.values()), "alerts")
        self._absorb_window(target, source=None, moved=moved)
        self._touch(source)
        self._touch(target)

    def _absorb_window(
        self, target: Incident, *, source: Incident | None, moved: list[Member]
    ) -> None:
        for node in moved:
            target.first_at = min(target.first_at, node.group_time)
            if node.status is Status.FIRING:
                target.last_related = max(target.last_related, node.group_time)
        if source is not None:
            target.last_activity = max(target.last_activity, source.last_activity)
            target.updated_at = max(target.updated_at, source.updated_at)
            target.records += source.records
        if target.resolved and not target.all_resolved():
            target.resolved_at = None
            target.resolved_reason = None

    def _accepts(self, incident: Incident, t: float, *, slack: float = 0.0) -> bool:
        if incident.resolved_at is not None and t > incident.resolved_at + self._reopen:
            return False
        if len(incident.members) >= self._max_members:
            return False
        return windows.session_accepts(
            first_at=incident.first_at,
            last_related_at=incident.last_related,
            created_at=incident.created_at,
            event_time=t,
            gap=max(self._gap, slack),
            max_lifetime=self._lifetime,
        )

    def _capped(self, incident: Incident, t: float) -> bool:
        """Would ``incident`` take an alert at ``t`` but for its lifetime or size cap?"""
        return (
            t > incident.created_at + self._lifetime or len(incident.members) >= self._max_members
        ) and incident.first_at - self._gap <= t <= incident.last_related + self._gap

    def _reach(self, service: str, direction: str) -> Mapping[str, int]:
        """Services within max_hops along one direction (cached per service)."""
        cache = self._reach_cache[direction]
        cached = cache.get(service)
        if cached is None:
            cached = self._topology.neighbourhood(service, self._config.max_hops, direction)  # type: ignore[arg-type]
            if len(cache) >= _RELATED_CACHE_LIMIT:
                cache.clear()
            cache[service] = cached
        return cached

    def _open(self, alert: Alert, t: float, previous: str | None) -> Incident:
        incident = Incident(self._new_id(alert), self._seq, t, previous)
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

    def _add_member(self, incident: Incident, member: Member) -> None:
        """A new member: into its incident and into the time indexes."""
        self._attach(incident, member)
        index = self._by_key.get(member.key)
        if index is None:
            index = self._by_key[member.key] = TimeIndex()
        index.add(member.group_time, member.fingerprint)
        self._index_time(member.group_time, member.fingerprint, member.known)
        self._links.put(member)

    def _attach(self, incident: Incident, member: Member) -> None:
        """Make ``member`` part of ``incident``. Moves between incidents (merges,
        splits) call only this: the time indexes are per service, not per incident,
        so indexing a moved member again would leave a stale duplicate behind."""
        incident.ranked = None
        member.incident = incident.id
        incident.members[member.fingerprint] = member
        self._by_fp[member.fingerprint] = incident.id
        incident.first_at = min(incident.first_at, member.group_time)
        if member.shed_below is not None:
            incident.first_at = min(incident.first_at, member.shed_below.first_at)
        if member.status is Status.FIRING:
            incident.firing += 1
            incident.last_related = max(incident.last_related, member.group_time)
        else:
            self._queue_for_shedding(incident, member)

    def _queue_for_shedding(self, incident: Incident, member: Member) -> None:
        """Note a resolved member where :meth:`_shed_settled` will pop it when due."""
        if self._member_retention:
            heapq.heappush(incident.resolved_heap, (settled_at(member), member.fingerprint))

    def _unindex(self, incident: Incident) -> None:
        for member in incident.members.values():
            self._unindex_member(member, incident.id)

    def _unindex_member(self, member: Member, incident_id: str) -> None:
        fp = member.fingerprint
        index = self._by_key.get(member.key)
        if index is not None:
            index.remove(member.group_time, fp)
            if not index:
                del self._by_key[member.key]
        if self._by_fp.get(fp) == incident_id:
            del self._by_fp[fp]
        (self._known_times if member.known else self._unknown_times).remove(member.group_time, fp)
        self._links.drop(member)

    def _shed_settled(self, incident: Incident) -> None:
        """Drop members resolved ``member_retention`` before the newest firing one.

        Driven by the incident's own alerts (``last_related``), never by how often
        ``advance`` runs, so a replay and a stream shed the same members. A shed
        alert lies beyond every link window of any on-time alert, so no link it
        could still have made is lost; its fingerprint goes to the closed-alert
        memory, so a re-send of it is recognised as stale instead of opening an
        incident. The tree's root is kept: it anchors splits and merges.
        """
        horizon = incident.last_related - self._member_retention
        heap = incident.resolved_heap
        roots: list[tuple[float, str]] = []
        while heap and heap[0][0] < horizon:
            entry = heapq.heappop(heap)
            member = incident.members.get(entry[1])
            if (
                member is None
                or member.status is not Status.RESOLVED
                or settled_at(member) != entry[0]
            ):
                continue  # moved away, or fired again since: a newer entry stands for it
            parent = incident.members.get(member.parent) if member.parent is not None else None
            if parent is None:
                roots.append(entry)
                continue
            self._shed(incident, member, parent)
        for entry in roots:
            heapq.heappush(heap, entry)

    def _shed(self, incident: Incident, member: Member, parent: Member) -> None:
        """Take one settled member out; its children hang from its parent instead.

        The children keep their link ranks, so which later alert may take them
        over is decided exactly as before; only the tree path skips the shed alert.
        """
        fp = member.fingerprint
        parent.children.pop(fp, None)
        for child_fp in member.children:
            child = incident.members.get(child_fp)
            if child is not None and child.parent == fp:
                child.parent = parent.fingerprint
                parent.children[child_fp] = None
        del incident.members[fp]
        self._unindex_member(member, incident.id)
        carried = parent.shed_below
        if carried is None:
            carried = parent.shed_below = ShedSummary()
        carried.add(member)
        incident.shed.add(member)
        if member.shed_below is not None:
            carried.absorb(member.shed_below)  # already counted in the incident's summary
        closed_at = incident.last_related
        self._closed[fp] = Closed(incident.id, member.starts_at, closed_at)
        self._closed_order.append((closed_at, fp))
        self.stats.shed += 1

    def _index_time(self, t: float, fp: str, known: bool) -> None:
        (self._known_times if known else self._unknown_times).add(t, fp)

    def _merge(self, absorbed: Incident, *, into: Incident) -> None:
        """Move every member of ``absorbed`` into the older ``into``."""
        moved = list(absorbed.members.values())
        for member in moved:
            self._attach(into, member)
        absorbed.members = {}  # its final `merged` event points at the survivor
        absorbed.firing = 0
        into.shed.absorb(absorbed.shed)  # its members carried it: it moves with them
        absorbed.shed = ShedSummary()
        absorbed.ranked = None
        self._absorb_window(into, source=absorbed, moved=moved)
        into.first_emitted_at = _min_opt(into.first_emitted_at, absorbed.first_emitted_at)
        absorbed.merged_into = into.id
        self.stats.incidents_merged += 1
        self._touch(absorbed)
        self._touch(into)

    # ----------------------------------------------------------- lifecycle

    def _resolve(self, incident: Incident, at: float, reason: str) -> None:
        if incident.resolved:
            return
        incident.resolved_at = at
        incident.resolved_reason = reason
        self.stats.incidents_resolved += 1
        self._timers.schedule(at + self._reopen, incident)

    def _settle_timeout(self, incident: Incident) -> None:
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

    def _closed_for_good(self, incident: Incident, watermark: float | None = None) -> bool:
        """Resolved, and the watermark (the current one if not given) is past its reopen window."""
        if watermark is None:
            if self._clock is None:
                return False
            watermark = windows.watermark(self._clock, self._lateness)
        return incident.resolved_at is not None and watermark > incident.resolved_at + self._reopen

    def _retire_if_closed(self, incident: Incident, watermark: float | None = None) -> bool:
        """Take a closed incident out of the indexes (lazily, wherever it is met).

        Its fingerprints move to the closed-alert memory, so late re-sends are
        recognised as stale. It stays in memory until its final event is out.
        ``watermark`` is where the question is asked in event time: an on-time
        alert released from the reorder buffer passes its own event time, so a
        re-fire inside the reopen window reopens whichever record released it.
        """
        if incident.retired:
            return True
        if not self._closed_for_good(incident, watermark):
            return False
        assert incident.resolved_at is not None
        closed_at = incident.resolved_at + self._reopen
        self._unindex(incident)
        incident.retired = True
        for member in incident.members.values():
            self._closed[member.fingerprint] = Closed(incident.id, member.starts_at, closed_at)
            self._closed_order.append((closed_at, member.fingerprint))
        if incident.id in self._counts_dirty and incident.emitted:
            # Its last duplicate counts were waiting for the update interval: they go
            # out with its final event instead of being forgotten with it.
            del self._counts_dirty[incident.id]
            self._dirty[incident.id] = None
        if incident.id not in self._dirty:
            self._drop(incident, closed_at)
        return True

    def _drop(self, incident: Incident, at: float) -> None:
        """Forget an incident; its id stays reserved for ``closed_retention``."""
        del self._incidents[incident.id]
        self._retired_ids.append((at, incident.id))

    def _forget_closed(self) -> None:
        """Drop closed-alert memory older than the retention (bounded memory)."""
        if self._clock is None:
            return
        horizon = self._clock - self._retention
        ids = self._retired_ids
        if ids and ids[0][0] < horizon:
            ids.sort()
            cut = 0
            while cut < len(ids) and ids[cut][0] < horizon:
                self._used_ids.pop(ids[cut][1], None)
                cut += 1
            del ids[:cut]
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

    def _on_timer(self, incident: Incident, clock: float) -> None:
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

    def _touch(self, incident: Incident) -> None:
        self._dirty[incident.id] = None

    # ------------------------------------------------------------- output

    def _emit(self, incident: Incident, clock: float) -> IncidentEvent:
        # The version is the engine's input position (alerts ingested so far),
        # or one more than the previous version: strictly increasing per id,
        # and a worker restored from a snapshot that re-reads the same input
        # reproduces the same numbers instead of reusing lower ones.
        incident.version = max(incident.version + 1, self.stats.alerts)
        incident.emissions += 1
        incident.last_emitted_at = clock
        incident.published_resolved = incident.resolved
        self._counts_dirty.pop(incident.id, None)
        if incident.first_emitted_at is None:
            incident.first_emitted_at = clock
        self.stats.events += 1
        return self._build_event(incident, clock, incident.version)

    def _build_event(self, incident: Incident, clock: float, version: int) -> IncidentEvent:
        if incident.merged_into is not None:
            status = IncidentStatus.MERGED
        elif incident.resolved:
            status = IncidentStatus.RESOLVED
        elif incident.emissions <= 1:
            status = IncidentStatus.OPEN
        else:
            status = IncidentStatus.UPDATED
        members = sorted(incident.members.values(), key=lambda m: (m.starts_at, m.fingerprint))
        shed = incident.shed
        if incident.ranked is None:
            signals = _signals(members, shed)
            key = (self._topology.version, *signals)
            memo = incident.rank_memo
            if memo is None or memo[0] != key:
                memo = incident.rank_memo = key, rank_candidates(
                    signals,
                    self._topology,
                    max_hops=self._config.rank_max_hops,
                    max_candidates=self._config.max_candidates,
                )
            incident.ranked = memo[1]
        candidates: tuple[Candidate, ...] = incident.ranked
        known = sorted(
            {m.service for m in members if m.known}
            | {s for s, first in shed.first.items() if first[2]}
        )
        unknown = sorted(
            {m.service for m in members if not m.known}
            | {s for s, first in shed.first.items() if not first[2]}
        )
        severity = max(
            (*(m.severity for m in members), *shed.worst.values()),
            key=lambda s: s.rank,
            default=Severity.INFO,
        )
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
            first_emitted_at=incident.first_emitted_at
            if incident.first_emitted_at is not None
            else clock,
            severity=severity.value,
            title=(
                f"merged into {incident.merged_into}"
                if incident.merged_into is not None
                else _title(
                    candidates[0].service if candidates else "?", known, unknown, members, shed
                )
            ),
            candidates=candidates,
            alerts=tuple(m.view() for m in members),
            services=tuple(known),
            unknown_services=tuple(unknown),
            topology_version=self._topology.version,
            records=incident.records,
            shed_alerts=shed.count,
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
            "retired_ids": sorted(self._retired_ids),
            "dirty": list(self._dirty),
            "counts_dirty": list(self._counts_dirty),
            "timers": sorted(self._timers.heap),
            "closed": [
                [fp, c.incident_id, c.starts_at, c.closed_at] for fp, c in self._closed.items()
            ],
            "closed_order": self._closed_order,
            "buffer": sorted(self._buffer),
            "held": [[h.t, encode_canonical(h.alert), h.against] for h in self._held],
            "pending": {
                fp: [encode_canonical(a) for a in alerts] for fp, alerts in self._pending.items()
            },
            "incidents": [dump_incident(inc) for inc in self._incidents.values()],
        }
        return orjson.dumps(state)

    def restore(self, data: bytes) -> None:
        """Replace the state with a snapshot taken by :meth:`snapshot`."""
        try:
            state = orjson.loads(data)
            if not isinstance(state, dict) or state.get("format") != SNAPSHOT_FORMAT:
                raise SnapshotError(
                    "unsupported snapshot format "
                    f"{state.get('format') if isinstance(state, dict) else '?'}"
                )
            self._reset_state()
            self._clock = state["clock"]
            self._seq = state["seq"]
            for name, value in state["stats"].items():
                setattr(self.stats, name, value)
            self._used_ids = dict.fromkeys(state["used_ids"])
            self._retired_ids = [(float(t), str(i)) for t, i in state["retired_ids"]]
            self._timers.heap = sorted((float(d), int(q), str(i)) for d, q, i in state["timers"])
            self._closed = {fp: Closed(i, s, c) for fp, i, s, c in state["closed"]}
            self._closed_order = [(float(c), str(fp)) for c, fp in state["closed_order"]]
            self._buffer = [(float(t), str(fp)) for t, fp in state["buffer"]]
            self._held = [
                Held(float(t), _decode_pending(raw), int(against))
                for t, raw, against in state.get("held", ())
            ]
            self._pending = {
                fp: [_decode_pending(raw) for raw in alerts]
                for fp, alerts in state["pending"].items()
            }
            for raw in state["incidents"]:
                incident = load_incident(raw)
                self._incidents[incident.id] = incident
                if incident.live:
                    for member in incident.members.values():
                        self._by_fp[member.fingerprint] = incident.id
                if incident.live:
                    for fp, member in incident.members.items():
                        self._by_key.setdefault(member.key, TimeIndex()).add(member.group_time, fp)
                        self._index_time(member.group_time, fp, member.known)
                        self._links.put(member)
            self._dirty = dict.fromkeys(state["dirty"])
            self._counts_dirty = dict.fromkeys(state["counts_dirty"])
            self._downward_links = self._links_point_down()
        except SnapshotError:
            raise
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"corrupt engine snapshot: {exc}") from None


def _signals(members: list[Member], shed: ShedSummary) -> list[ServiceSignal]:
    """Aggregate members per service for ranking (members come sorted by start).

    Shed members count through their summary, so the signals, and the ranking,
    are what they would be had nothing been shed.
    """
    first: dict[str, tuple[float, str, bool]] = {}
    worst: dict[str, Severity] = {}
    for m in members:
        if m.service not in first:
            first[m.service] = (m.starts_at, m.fingerprint, m.known)
        if m.severity.rank > worst.get(m.service, Severity.INFO).rank or m.service not in worst:
            worst[m.service] = m.severity
    if shed.count:
        for service, gone in shed.first.items():
            held = first.get(service)
            if held is None or gone[:2] < held[:2]:
                first[service] = gone
            severity = shed.worst[service]
            if service not in worst or severity.rank > worst[service].rank:
                worst[service] = severity
        first = dict(sorted(first.items(), key=lambda item: item[1][:2]))
    return [ServiceSignal(s, f[2], f[0], f[1], worst[s]) for s, f in first.items()]


def _title(
    root: str, known: list[str], unknown: list[str], members: list[Member], shed: ShedSummary
) -> str:
    services = len(known) + len(unknown)
    firing = sum(1 for m in members if m.status is Status.FIRING)
    alerts = len(members) + shed.count
    if services <= 1:
        names = sorted({m.name for m in members} | shed.names.keys())
        what = names[0] if len(names) == 1 else f"{len(names)} alert kinds"
        return f"{root}: {what} ({alerts} alerts, {firing} firing)"
    return (
        f"{root} and {services - 1} related services degraded "
        f"({alerts} alerts, {firing} firing)"
    )


def _min_opt(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def _decode_pending(raw: dict[str, Any]) -> Alert:
    decoded = decode_value(raw)
    if not isinstance(decoded, Decoded) or len(decoded.alerts) != 1:
        raise SnapshotError("corrupt buffered alert in snapshot")
    return decoded.alerts[0]


def _closest(
    index: TimeIndex, t: float, lo: float, hi: float, acceptable: Callable[[str], bool], *,
    exclude: str | None = None, beyond: float | None = None,
) -> tuple[float, str] | None:
    """``(offset, fp)`` of the acceptable entry in ``[lo, hi]`` closest to ``t``; on a tie
    in offset, the smallest fingerprint (the order :data:`ParentRank` breaks ties in).
    ``beyond`` keeps only offsets strictly greater than it."""
    best: tuple[float, str] | None = None
    for offset, fp in index.outward(t, lo, hi):
        if best is not None and offset > best[0]:
            break
        if fp == exclude or (beyond is not None and offset <= beyond) or not acceptable(fp):
            continue
        if best is None or fp < best[1]:
            best = (offset, fp)
    return best
