"""Cross-domain linking: the cheap second stage over the incident stream.

Why it exists. With several repartition partitions every correlation domain has its own
engine, so a cascade that crosses a domain boundary (a *split* component) reaches two
engines and becomes two incidents. The incident stream is about 100x smaller than the
alert stream, so a second stage that sees every partition's incidents can join the halves
again at a fraction of the engines' cost.

What links. An incident's *root* members (those with no explainer inside their engine,
``joined.via is None``) are exactly the alerts a single engine would have tried to explain
with an alert from the other domain. The linker applies the engine's own explainer rule
across partitions: the root on service ``s`` at time ``t`` is explained by a member of an
incident from *another* partition on a service ``d`` that ``s`` depends on within
``max_hops`` (edge A -> B: A calls B, a fault in B shows in A), started between
``link_window`` before and ``cause_lag`` after ``t`` (a late cause, ranked below a timely
one). Each incident keeps its single best explainer (tier, hops, time offset, then ids:
deterministic), as the engine keeps one parent per alert, so a symptom that calls
everything does not weld concurrent faults together. Incidents joined by these links
form a cluster; its output is one incident:

* the survivor is the oldest component (``opened_at``, then id), as in the engine;
* the survivor's event carries the union of the members, a root-cause ranking recomputed
  over the union with :func:`correlator.rootcause.rank_candidates` (the engine's own
  signal aggregation and title), and the linked roots re-labelled ``topology`` joins
  with their dependency path;
* every other component gets a ``merged`` event pointing at the survivor, as the engine
  publishes for its own merges.

History independence. Links and clusters are recomputed from the *current* state of each
component incident (the latest event per id), never accumulated, so the final output is a
function of the engines' final states and does not depend on how the partitions' events
interleave or how they are batched: the stream and ``correlator replay --partitions N``
agree. The price is that a cluster can split again when an engine moves members away; the
freed component is then re-published as itself.

Pass-through. An incident that is in no cluster and was never rewritten is published as
the very event its engine produced (the same object), so with nothing to link (and with
one partition, where the stage is not run at all) the output is exactly the engines'.

Versions. A rewritten event gets ``max(last published + 1, highest component version)``:
strictly increasing per id, derived from the engines' input positions, reproduced by a
restored linker that re-reads the same input. Re-delivered component events (version not
above the one held) are ignored, so at-least-once input is harmless.

Bounded state. A cluster is forgotten once every component is resolved and the newest
event time seen has passed ``resolved_at + reopen_window + allowed_lateness +
closed_retention`` (the engine has retired it by then and reserves its ids for
``closed_retention``). :meth:`IncidentLinker.snapshot` is a plain JSON-able dict.

Pure: no Kafka, no I/O, no wall clock.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from correlator.config import EngineConfig
from correlator.engine import _signals, _title
from correlator.errors import SnapshotError
from correlator.incident import (
    Candidate,
    Explanation,
    IncidentEvent,
    IncidentStatus,
    JoinedBy,
    JoinReason,
    MemberView,
)
from correlator.model import Severity, Status
from correlator.rootcause import ServiceSignal, rank_candidates
from correlator.state import Member, ShedSummary
from topology import Topology

__all__ = ["LINKER_SNAPSHOT_FORMAT", "IncidentLinker"]

LINKER_SNAPSHOT_FORMAT = 1

#: (tier, hops, |time offset|, explaining member's fingerprint, its incident id): smaller wins.
_Rank = tuple[int, int, float, str, str]


@dataclass(frozen=True, slots=True)
class _Link:
    """The best explainer, in another partition, of one of a component's roots."""

    rank: _Rank
    child_fp: str  # the root member being explained
    hops: int

    @property
    def parent_id(self) -> str:
        return self.rank[4]

    @property
    def parent_fp(self) -> str:
        return self.rank[3]


@dataclass(slots=True)
class _Comp:
    """One live component incident: its latest event and where it came from."""

    partition: int
    event: IncidentEvent
    #: (fingerprint, service, time) of known-service members with no explainer.
    roots: tuple[tuple[str, str, float], ...]
    link: _Link | None = None


@dataclass(frozen=True, slots=True)
class _Out:
    """What was last published for an id the linker rewrote."""

    version: int
    into: str | None  # survivor it was published as merged into, or None
    comps: tuple[str, ...]  # the cluster it was published for (sorted ids)


class IncidentLinker:
    """Joins incidents of different partitions whose roots the other side explains."""

    def __init__(self, topology: Topology, config: EngineConfig | None = None) -> None:
        cfg = config or EngineConfig()
        self._config = cfg
        self._topology = topology
        self._link_window = cfg.link_window.total_seconds()
        self._cause_lag = cfg.cause_lag.total_seconds()
        self._forget_after = (
            cfg.reopen_window + cfg.allowed_lateness + cfg.closed_retention
        ).total_seconds()
        self._reset()

    def _reset(self) -> None:
        self._comps: dict[str, _Comp] = {}
        #: service -> component id -> sorted (time, fingerprint) of its known members.
        self._members: dict[str, dict[str, list[tuple[float, str]]]] = {}
        #: service -> component id -> root (time, fingerprint) entries.
        self._roots: dict[str, dict[str, list[tuple[float, str]]]] = {}
        #: component id -> ids of the components whose link points at it.
        self._children: dict[str, set[str]] = {}
        #: component id -> survivor id, for components in clusters of two or more.
        self._cluster: dict[str, str] = {}
        self._out: dict[str, _Out] = {}
        self._clocks: dict[int, float] = {}
        self._forget: list[tuple[float, str]] = []
        #: survivor -> ((topology version, signals), ranking): a cache, not state.
        self._ranked: dict[
            str, tuple[tuple[str, tuple[ServiceSignal, ...]], tuple[Candidate, ...]]
        ] = {}

    # ------------------------------------------------------------------ API

    @property
    def topology(self) -> Topology:
        return self._topology

    def set_topology(self, topology: Topology) -> None:
        """Use a new topology for links made from now on (existing links stay until the
        components involved change)."""
        self._topology = topology

    @property
    def components(self) -> int:
        """Live component incidents held (a gauge for bounded memory)."""
        return len(self._comps)

    @property
    def linked(self) -> int:
        """Components currently in clusters of two or more."""
        return len(self._cluster)

    def feed(
        self, partition: int, events: Sequence[IncidentEvent], clock: datetime | None
    ) -> list[IncidentEvent]:
        """Fold one engine step of ``partition`` (its events, in order, and its clock after
        the step); returns the events to publish, in a deterministic order."""
        if clock is not None:
            ts = clock.timestamp()
            if ts > self._clocks.get(partition, float("-inf")):
                self._clocks[partition] = ts
        touched: dict[str, IncidentEvent] = {}
        merged: dict[str, IncidentEvent] = {}
        relink: set[str] = set()
        seeds: set[str] = set()
        for event in events:
            held = self._comps.get(event.id)
            if held is not None and event.version <= held.event.version:
                continue  # re-delivery of what is already folded in
            if event.status is IncidentStatus.MERGED:
                merged[event.id] = event
                touched.pop(event.id, None)
                if held is not None:
                    self._remove(event.id, relink, seeds)
                continue
            touched[event.id] = event
            merged.pop(event.id, None)
            self._upsert(partition, event, relink, seeds)
        if not touched and not merged:
            self._forget_closed()
            return []
        changed_links = self._relink(relink)
        seeds |= set(touched) | changed_links
        for comp_id in changed_links:
            seeds |= self._cluster_ids(comp_id)
        out = self._publish(touched, merged, seeds)
        self._forget_closed()
        return out

    # ------------------------------------------------------------------ state upkeep

    def _upsert(
        self, partition: int, event: IncidentEvent, relink: set[str], seeds: set[str]
    ) -> None:
        old = self._comps.get(event.id)
        if old is not None:
            self._unindex(event.id, old)
            relink |= self._children.get(event.id, set())
        roots = tuple(
            (m.fingerprint, m.service, m.starts_at)
            for m in event.alerts
            if m.joined.via is None and m.known_service
        )
        comp = _Comp(partition, event, roots, old.link if old is not None else None)
        self._comps[event.id] = comp
        self._index(event.id, comp)
        relink.add(event.id)
        before = (
            {(m.fingerprint, m.starts_at) for m in old.event.alerts} if old is not None else set()
        )
        fresh = [m for m in event.alerts if (m.fingerprint, m.starts_at) not in before]
        relink |= self._explained_by(event.id, comp, fresh)
        if event.status is IncidentStatus.RESOLVED and event.resolved_at is not None:
            heapq.heappush(self._forget, (event.resolved_at + self._forget_after, event.id))
        seeds.add(event.id)

    def _remove(self, comp_id: str, relink: set[str], seeds: set[str]) -> None:
        comp = self._comps.pop(comp_id)
        seeds |= self._cluster_ids(comp_id)
        self._unindex(comp_id, comp)
        self._set_link(comp_id, comp, None)
        for child in self._children.pop(comp_id, set()):
            relink.add(child)
        relink.discard(comp_id)

    def _index(self, comp_id: str, comp: _Comp) -> None:
        for m in comp.event.alerts:
            if m.known_service:
                insort(
                    self._members.setdefault(m.service, {}).setdefault(comp_id, []),
                    (m.starts_at, m.fingerprint),
                )
        for fp, service, t in comp.roots:
            insort(self._roots.setdefault(service, {}).setdefault(comp_id, []), (t, fp))

    def _unindex(self, comp_id: str, comp: _Comp) -> None:
        for index, services in (
            (self._members, {m.service for m in comp.event.alerts if m.known_service}),
            (self._roots, {service for _, service, _ in comp.roots}),
        ):
            for service in services:
                by_comp = index.get(service)
                if by_comp is not None:
                    by_comp.pop(comp_id, None)
                    if not by_comp:
                        del index[service]

    def _set_link(self, comp_id: str, comp: _Comp, link: _Link | None) -> None:
        if comp.link is not None:
            children = self._children.get(comp.link.parent_id)
            if children is not None:
                children.discard(comp_id)
                if not children:
                    del self._children[comp.link.parent_id]
        comp.link = link
        if link is not None:
            self._children.setdefault(link.parent_id, set()).add(comp_id)

    # ------------------------------------------------------------------ links

    def _reach(self, service: str, direction: str) -> Mapping[str, int]:
        if service not in self._topology:
            return {}
        return self._topology.neighbourhood(service, self._config.max_hops, direction)  # type: ignore[arg-type]

    def _explained_by(self, comp_id: str, comp: _Comp, fresh: Iterable[MemberView]) -> set[str]:
        """Components of other partitions whose roots the new members of ``comp`` may
        explain (old members were looked at when they arrived)."""
        found: set[str] = set()
        lo_lag, hi_lag = -self._link_window, self._cause_lag
        for m in fresh:
            if not m.known_service:
                continue
            for service, hops in self._reach(m.service, "dependents").items():
                if hops == 0:
                    continue
                for other_id, entries in self._roots.get(service, {}).items():
                    if other_id in found or self._comps[other_id].partition == comp.partition:
                        continue
                    # root time t must satisfy lo_lag <= m.t - t <= hi_lag
                    lo = bisect_left(entries, (m.starts_at - hi_lag, ""))
                    if lo < len(entries) and entries[lo][0] <= m.starts_at - lo_lag:
                        found.add(other_id)
        found.discard(comp_id)
        return found

    def _best_link(self, comp_id: str, comp: _Comp) -> _Link | None:
        best: _Link | None = None
        window, lag = self._link_window, self._cause_lag
        for fp, service, t in comp.roots:
            for dep, hops in self._reach(service, "dependencies").items():
                if hops == 0:
                    continue
                for other_id, entries in self._members.get(dep, {}).items():
                    if self._comps[other_id].partition == comp.partition:
                        continue
                    lo = bisect_left(entries, (t - window, ""))
                    hi = bisect_right(entries, (t + lag, "\uffff"))
                    for u, mfp in entries[lo:hi]:
                        offset = u - t
                        tier = 0 if offset <= window else 2
                        rank: _Rank = (tier, hops, abs(offset), mfp, other_id)
                        if best is None or rank < best.rank:
                            best = _Link(rank, fp, hops)
        return best

    def _relink(self, ids: Iterable[str]) -> set[str]:
        """Recompute the best link of these components; returns those whose link changed,
        with their old and new link targets."""
        changed: set[str] = set()
        for comp_id in sorted(ids):
            comp = self._comps.get(comp_id)
            if comp is None:
                continue
            link = self._best_link(comp_id, comp)
            if link != comp.link:
                changed.add(comp_id)
                if comp.link is not None:
                    changed.add(comp.link.parent_id)
                if link is not None:
                    changed.add(link.parent_id)
                self._set_link(comp_id, comp, link)
        return changed

    def _neighbours(self, comp_id: str) -> list[str]:
        comp = self._comps.get(comp_id)
        out = sorted(self._children.get(comp_id, ()))
        if comp is not None and comp.link is not None and comp.link.parent_id in self._comps:
            out.append(comp.link.parent_id)
        return out

    def _walk(self, start: str) -> list[str]:
        """The current cluster of ``start`` (itself when unlinked), sorted."""
        seen = {start}
        stack = [start]
        while stack:
            for other in self._neighbours(stack.pop()):
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        return sorted(seen)

    def _cluster_ids(self, comp_id: str) -> set[str]:
        """Ids published with ``comp_id`` last time (its old cluster), for recomputation."""
        survivor = self._cluster.get(comp_id)
        if survivor is None:
            return {comp_id}
        record = self._out.get(survivor)
        return set(record.comps) if record is not None else {comp_id}

    # ------------------------------------------------------------------ output

    def _publish(
        self,
        touched: Mapping[str, IncidentEvent],
        merged: Mapping[str, IncidentEvent],
        seeds: set[str],
    ) -> list[IncidentEvent]:
        clusters: dict[str, list[str]] = {}
        for seed in sorted(seeds):
            if seed in self._comps and seed not in clusters:
                members = self._walk(seed)
                for member in members:
                    clusters[member] = members
        outputs: dict[str, IncidentEvent] = {}
        for comp_id in sorted(clusters):
            members = clusters[comp_id]
            comp = self._comps[comp_id]
            record = self._out.get(comp_id)
            if len(members) == 1:
                self._cluster.pop(comp_id, None)
                if record is None:
                    if comp_id in touched:
                        outputs[comp_id] = touched[comp_id]  # pass-through, unchanged
                    continue
                if comp_id in touched or record.into is not None or record.comps != (comp_id,):
                    outputs[comp_id] = self._rewrite(
                        comp_id, comp.event, record, (comp_id,), comp_id in touched
                    )
                continue
            survivor = min(members, key=lambda i: (self._comps[i].event.opened_at, i))
            self._cluster[comp_id] = survivor
            comps = tuple(members)
            fresh = comp_id in touched
            if comp_id == survivor:
                if (
                    record is None
                    or record.into is not None
                    or record.comps != comps
                    or any(m in touched for m in members)
                ):
                    event = self._union(survivor, members)
                    outputs[comp_id] = self._rewrite(comp_id, event, record, comps, fresh)
            elif record is None or record.into != survivor:
                absorbed = _merged_event(comp.event, survivor)
                outputs[comp_id] = self._rewrite(comp_id, absorbed, record, comps, fresh)
        for comp_id, event in merged.items():
            self._cluster.pop(comp_id, None)
            record = self._out.pop(comp_id, None)
            if record is None:
                outputs[comp_id] = event  # an engine merge nobody linked: unchanged
                continue
            target = event.merged_into or ""
            into = self._cluster.get(target, target)
            version = max(record.version + 1, event.version)
            outputs[comp_id] = replace(event, version=version, merged_into=into)
        first_seen = {eid: n for n, eid in enumerate([*touched, *merged])}
        return [
            outputs[i]
            for i in sorted(outputs, key=lambda i: (first_seen.get(i, len(first_seen)), i))
        ]

    def _rewrite(
        self,
        comp_id: str,
        event: IncidentEvent,
        record: _Out | None,
        comps: tuple[str, ...],
        fresh: bool,
    ) -> IncidentEvent:
        """Stamp a rewritten event with a version above everything published for the id.

        Without a record, what was published last is the engine's own event: the current
        one when it arrived in an earlier step, an older one when it arrived just now.
        """
        own = self._comps[comp_id].event.version
        last = record.version if record is not None else (own - 1 if fresh else own)
        version = max(last + 1, event.version)
        if comps == (comp_id,) and version == own and event is self._comps[comp_id].event:
            self._out.pop(comp_id, None)  # published as its engine made it: plain again
            return event
        self._out[comp_id] = _Out(version, event.merged_into, comps)
        return replace(event, version=version)

    def _union(self, survivor: str, members: list[str]) -> IncidentEvent:
        """The survivor's event over every component of its cluster."""
        comps = [self._comps[i] for i in members]
        by_fp: dict[str, MemberView] = {}
        for comp in sorted(comps, key=lambda c: (c.event.opened_at, c.event.id)):
            for view in comp.event.alerts:
                by_fp.setdefault(view.fingerprint, view)
        for fp, joined in self._linked_roots(survivor, members).items():
            if fp in by_fp:
                by_fp[fp] = replace(by_fp[fp], joined=joined)
        views = sorted(by_fp.values(), key=lambda v: (v.starts_at, v.fingerprint))
        members_ = [_as_member(v) for v in views]
        events = [c.event for c in comps]
        # Alerts a component shed (member_retention) are not in its event: their
        # count and services carry over; the ranking sees the listed alerts only.
        shed = ShedSummary()
        shed.count = sum(e.shed_alerts for e in events)
        candidates = self._rank(survivor, tuple(_signals(members_, shed)))
        known = sorted(
            {v.service for v in views if v.known_service}.union(*(e.services for e in events))
        )
        unknown = sorted(
            {v.service for v in views if not v.known_service}.union(
                *(e.unknown_services for e in events)
            )
        )
        severity = max(
            (*(m.severity for m in members_), *(Severity(e.severity) for e in events)),
            key=lambda s: s.rank,
            default=Severity.INFO,
        )
        base = self._comps[survivor].event
        resolved = all(e.status is IncidentStatus.RESOLVED for e in events)
        last = max(events, key=lambda e: (e.resolved_at or 0.0, e.id)) if resolved else None
        if resolved:
            status = IncidentStatus.RESOLVED
        elif all(e.status is IncidentStatus.OPEN for e in events):
            status = IncidentStatus.OPEN
        else:
            status = IncidentStatus.UPDATED
        return replace(
            base,
            version=max(e.version for e in events),
            status=status,
            merged_into=None,
            opened_at=min(e.opened_at for e in events),
            updated_at=max(e.updated_at for e in events),
            resolved_at=last.resolved_at if last is not None else None,
            resolved_reason=last.resolved_reason if last is not None else None,
            first_emitted_at=min(e.first_emitted_at for e in events),
            severity=severity.value,
            title=_title(
                candidates[0].service if candidates else "?", known, unknown, members_, shed
            ),
            candidates=candidates,
            alerts=tuple(views),
            services=tuple(known),
            unknown_services=tuple(unknown),
            topology_version=self._topology.version,
            records=sum(e.records for e in events),
            shed_alerts=shed.count,
        )

    def _rank(self, survivor: str, signals: tuple[ServiceSignal, ...]) -> tuple[Candidate, ...]:
        """Ranking over the union, cached per survivor while its signals stay the same
        (most updates only add duplicates or resolves, as in the engine's own cache)."""
        key = (self._topology.version, signals)
        cached = self._ranked.get(survivor)
        if cached is not None and cached[0] == key:
            return cached[1]
        cfg = self._config
        ranked = rank_candidates(
            signals, self._topology, max_hops=cfg.rank_max_hops, max_candidates=cfg.max_candidates
        )
        self._ranked[survivor] = (key, ranked)
        return ranked

    def _linked_roots(self, survivor: str, members: list[str]) -> dict[str, JoinedBy]:
        """Fingerprint -> new ``joined`` of the roots explained across partitions.

        Only along the edges of a breadth-first tree from the survivor (each in the
        direction of its link), so components that explain each other (a cycle in the
        topology) never form a cycle of ``via`` references.
        """
        out: dict[str, JoinedBy] = {}
        seen = {survivor}
        frontier = [survivor]
        while frontier:
            nxt: list[str] = []
            for here in frontier:
                for other in self._neighbours(here):
                    if other in seen:
                        continue
                    seen.add(other)
                    nxt.append(other)
                    for child, parent in ((other, here), (here, other)):
                        link = self._comps[child].link
                        if link is not None and link.parent_id == parent:
                            self._relabel(child, parent, link, out)
                            break
            frontier = sorted(nxt)
        return out

    def _relabel(self, child: str, parent: str, link: _Link, out: dict[str, JoinedBy]) -> None:
        root = next((r for r in self._comps[child].roots if r[0] == link.child_fp), None)
        cause = next(
            (m for m in self._comps[parent].event.alerts if m.fingerprint == link.parent_fp), None
        )
        if root is None or cause is None:
            return
        path = self._topology.dependency_path(root[1], cause.service, link.hops)
        out[root[0]] = JoinedBy(
            JoinReason.TOPOLOGY, via=cause.fingerprint, hops=link.hops, path=path
        )

    # ------------------------------------------------------------------ forgetting

    def _forget_closed(self) -> None:
        if not self._clocks or not self._forget:
            return
        now = max(self._clocks.values())
        while self._forget and self._forget[0][0] < now:
            _, comp_id = heapq.heappop(self._forget)
            comp = self._comps.get(comp_id)
            if comp is None or not self._closed(comp, now):
                continue
            members = self._walk(comp_id)
            if not all(self._closed(self._comps[m], now) for m in members):
                continue  # the last component to close brings the cluster here again
            for member in members:
                gone = self._comps.pop(member)
                self._unindex(member, gone)
                self._set_link(member, gone, None)
                self._children.pop(member, None)
                self._cluster.pop(member, None)
                self._out.pop(member, None)
                self._ranked.pop(member, None)

    def _closed(self, comp: _Comp, now: float) -> bool:
        event = comp.event
        return (
            event.status is IncidentStatus.RESOLVED
            and event.resolved_at is not None
            and event.resolved_at + self._forget_after < now
        )

    # ------------------------------------------------------------------ snapshot

    def snapshot(self) -> dict[str, Any]:
        """The whole state as plain JSON-able values (lossless floats, sorted)."""
        return {
            "format": LINKER_SNAPSHOT_FORMAT,
            "clocks": {str(p): c for p, c in sorted(self._clocks.items())},
            "components": [
                {"partition": c.partition, "event": event_to_doc(c.event)}
                for _, c in sorted(self._comps.items())
            ],
            "outputs": {
                i: {"version": o.version, "into": o.into, "comps": list(o.comps)}
                for i, o in sorted(self._out.items())
            },
        }

    def restore(self, doc: Mapping[str, Any]) -> None:
        """Replace the state with a :meth:`snapshot`; :class:`SnapshotError` if unusable."""
        try:
            if doc.get("format") != LINKER_SNAPSHOT_FORMAT:
                raise SnapshotError(f"unsupported linker snapshot format {doc.get('format')!r}")
            clocks = {int(p): float(c) for p, c in dict(doc["clocks"]).items()}
            comps = [(int(c["partition"]), event_from_doc(c["event"])) for c in doc["components"]]
            outs = {
                str(i): _Out(int(o["version"]), o["into"], tuple(str(c) for c in o["comps"]))
                for i, o in dict(doc["outputs"]).items()
            }
        except SnapshotError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"corrupt linker snapshot: {exc!r}") from None
        self._reset()
        self._clocks = clocks
        relink: set[str] = set()
        for partition, event in comps:
            self._upsert(partition, event, relink, set())
        self._relink(relink)
        self._out = outs
        for comp_id in sorted(self._comps):
            if comp_id in self._cluster:
                continue
            members = self._walk(comp_id)
            if len(members) > 1:
                survivor = min(members, key=lambda i: (self._comps[i].event.opened_at, i))
                for member in members:
                    self._cluster[member] = survivor


# ---------------------------------------------------------------------- helpers


def _merged_event(event: IncidentEvent, survivor: str) -> IncidentEvent:
    """A component's final event as absorbed into ``survivor`` (the engine's merge form)."""
    return replace(
        event,
        status=IncidentStatus.MERGED,
        merged_into=survivor,
        severity=Severity.INFO.value,
        title=f"merged into {survivor}",
        candidates=(),
        alerts=(),
        services=(),
        unknown_services=(),
    )


def _as_member(view: MemberView) -> Member:
    """The fields of an engine member that ranking and titles read, from a published view."""
    member = Member()
    member.fingerprint = view.fingerprint
    member.service = view.service
    member.known = view.known_service
    member.name = view.name
    member.severity = Severity(view.severity)
    member.status = Status(view.status)
    member.starts_at = view.starts_at
    return member


def event_to_doc(event: IncidentEvent) -> dict[str, Any]:
    """A lossless JSON-able form of an event (``to_dict`` rounds times and scores)."""
    return {
        "id": event.id,
        "version": event.version,
        "status": event.status.value,
        "merged_into": event.merged_into,
        "previous_incident": event.previous_incident,
        "opened_at": event.opened_at,
        "updated_at": event.updated_at,
        "resolved_at": event.resolved_at,
        "resolved_reason": event.resolved_reason,
        "first_emitted_at": event.first_emitted_at,
        "severity": event.severity,
        "title": event.title,
        "candidates": [_candidate_doc(c) for c in event.candidates],
        "alerts": [_member_doc(m) for m in event.alerts],
        "services": list(event.services),
        "unknown_services": list(event.unknown_services),
        "topology_version": event.topology_version,
        "records": event.records,
        "shed_alerts": event.shed_alerts,
    }


def event_from_doc(doc: Mapping[str, Any]) -> IncidentEvent:
    """Inverse of :func:`event_to_doc`."""
    return IncidentEvent(
        id=str(doc["id"]),
        version=int(doc["version"]),
        status=IncidentStatus(doc["status"]),
        merged_into=doc["merged_into"],
        previous_incident=doc["previous_incident"],
        opened_at=float(doc["opened_at"]),
        updated_at=float(doc["updated_at"]),
        resolved_at=None if doc["resolved_at"] is None else float(doc["resolved_at"]),
        resolved_reason=doc["resolved_reason"],
        first_emitted_at=float(doc["first_emitted_at"]),
        severity=str(doc["severity"]),
        title=str(doc["title"]),
        candidates=tuple(_candidate_from(c) for c in doc["candidates"]),
        alerts=tuple(_member_from(m) for m in doc["alerts"]),
        services=tuple(doc["services"]),
        unknown_services=tuple(doc["unknown_services"]),
        topology_version=str(doc["topology_version"]),
        records=int(doc["records"]),
        shed_alerts=int(doc.get("shed_alerts", 0)),  # absent in older linker snapshots
    )


def _joined_doc(joined: JoinedBy) -> list[Any]:
    return [
        joined.reason.value,
        joined.via,
        joined.hops,
        list(joined.path) if joined.path is not None else None,
    ]


def _member_doc(m: MemberView) -> list[Any]:
    return [
        m.fingerprint,
        m.service,
        m.known_service,
        m.name,
        m.severity,
        m.status,
        m.starts_at,
        m.ends_at,
        m.count,
        m.flapping,
        m.late,
        m.summary,
        _joined_doc(m.joined),
    ]


def _member_from(raw: Sequence[Any]) -> MemberView:
    reason, via, hops, path = raw[12]
    return MemberView(
        fingerprint=raw[0],
        service=raw[1],
        known_service=bool(raw[2]),
        name=raw[3],
        severity=raw[4],
        status=raw[5],
        starts_at=float(raw[6]),
        ends_at=None if raw[7] is None else float(raw[7]),
        count=int(raw[8]),
        flapping=bool(raw[9]),
        late=bool(raw[10]),
        summary=raw[11],
        joined=JoinedBy(JoinReason(reason), via, hops, tuple(path) if path is not None else None),
    )


def _candidate_doc(c: Candidate) -> list[Any]:
    return [
        c.service,
        c.fingerprint,
        c.score,
        c.raw_score,
        c.coverage,
        list(c.alerting_dependencies),
        c.first_alert_offset_seconds,
        c.severity,
        c.known_service,
        [[e.service, list(e.path), e.offset_seconds] for e in c.explains],
    ]


def _candidate_from(raw: Sequence[Any]) -> Candidate:
    return Candidate(
        service=raw[0],
        fingerprint=raw[1],
        score=float(raw[2]),
        raw_score=float(raw[3]),
        coverage=float(raw[4]),
        alerting_dependencies=tuple(raw[5]),
        first_alert_offset_seconds=float(raw[6]),
        severity=raw[7],
        known_service=bool(raw[8]),
        explains=tuple(Explanation(s, tuple(p), float(o)) for s, p, o in raw[9]),
    )
