"""The engine's mutable working state, and its snapshot form.

Kept apart from the engine's rules so that what is persisted is visible in one
place: everything here round-trips through :func:`dump_incident` and
:func:`load_incident` (plain JSON-able values, no pickle).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from dataclasses import dataclass, field
from math import frexp, inf, ldexp
from typing import Any

from correlator.incident import JoinedBy, JoinReason, MemberView
from correlator.model import Severity, Status

#: Orders candidate parents: (peer?, hops, |time offset|, parent fingerprint).
#: An explainer in the dependencies (peer=0) beats a same-service peer (peer=1);
#: then fewer hops, then closer in time, then the fingerprint for determinism.
ParentRank = tuple[int, int, float, str]


class Member:
    """One member alert: its lifecycle, and its link in the explanation forest."""

    __slots__ = (
        "_view",
        "children",
        "count",
        "ends_at",
        "fingerprint",
        "flapping",
        "flaps",
        "group_time",
        "incident",
        "joined",
        "key",
        "known",
        "late",
        "name",
        "parent",
        "parent_rank",
        "service",
        "severity",
        "shed_below",
        "starts_at",
        "status",
        "summary",
    )

    fingerprint: str
    service: str
    known: bool
    key: str
    name: str
    severity: Severity
    status: Status
    summary: str
    starts_at: float
    ends_at: float | None
    group_time: float
    count: int
    flaps: int
    flapping: bool
    late: bool
    joined: JoinedBy
    parent: str | None
    parent_rank: ParentRank | None
    children: dict[str, None]
    incident: str

    def __init__(self) -> None:
        self._view: tuple[tuple[Any, ...], MemberView] | None = None
        # Members shed from under this one (see ``member_retention``): they would
        # have moved with it, so what they contribute travels with it too.
        self.shed_below: ShedSummary | None = None

    def view(self) -> MemberView:
        """The member as published. Kept while the fields it shows are unchanged: every
        event carries all members, so a large incident would rebuild each one per event."""
        shown = (
            self.service, self.known, self.name, self.severity, self.status, self.starts_at,
            self.ends_at, self.count, self.flapping, self.late, self.summary, self.joined,
        )
        cached = self._view
        if cached is not None and cached[0] == shown:
            return cached[1]
        view = MemberView(
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
        self._view = (shown, view)
        return view


class Incident:
    """One incident: a tree of member alerts plus its lifecycle."""

    __slots__ = (
        "created_at",
        "emissions",
        "firing",
        "first_at",
        "first_emitted_at",
        "id",
        "last_activity",
        "last_emitted_at",
        "last_related",
        "members",
        "merged_into",
        "previous",
        "published_resolved",
        "rank_memo",
        "ranked",
        "records",
        "resolved_at",
        "resolved_heap",
        "resolved_reason",
        "retired",
        "seq",
        "shed",
        "updated_at",
        "version",
    )

    def __init__(self, incident_id: str, seq: int, created_at: float, previous: str | None) -> None:
        self.id = incident_id
        self.seq = seq
        self.created_at = created_at  # event time of the alert that opened it
        self.first_at = created_at  # earliest member group time (a late root moves it back)
        self.last_related = created_at  # newest firing member group time: drives the gap
        self.last_activity = created_at  # newest alert/re-send/resolve: drives the timeout
        self.updated_at = created_at
        self.members: dict[str, Member] = {}
        # Members firing now, kept by every change of membership or status, so that
        # "all resolved?" is O(1): resolving a storm's incident of thousands of members
        # one alert at a time would otherwise cost a scan per resolve.
        self.firing = 0
        self.version = 0
        self.emissions = 0  # events published so far (the first one says "open")
        self.first_emitted_at: float | None = None
        self.last_emitted_at: float | None = None
        self.published_resolved = False  # was it resolved in the last published event?
        self.resolved_at: float | None = None
        self.resolved_reason: str | None = None
        self.merged_into: str | None = None
        self.previous = previous
        self.records = 0
        self.retired = False  # closed for good; kept only until its last event is out
        self.ranked: tuple[Any, ...] | None = None  # cached root-cause ranking; None = stale
        # What the last ranking was computed from: when a stale ranking's inputs (the
        # topology and the per-service signals) are unchanged, it is still right.
        self.rank_memo: tuple[tuple[Any, ...], tuple[Any, ...]] | None = None
        # Resolved members by when they last mattered (see :func:`settled_at`), so
        # that shedding the long-resolved ones pops them instead of scanning; moved
        # or re-fired members leave stale entries that are skipped when popped.
        self.resolved_heap: list[tuple[float, str]] = []
        self.shed = ShedSummary()

    @property
    def emitted(self) -> bool:
        return self.version > 0

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def live(self) -> bool:
        return self.merged_into is None and not self.retired

    def all_resolved(self) -> bool:
        return self.firing == 0

    def recompute_window(self) -> None:
        """Window bounds from the members (after a subtree moved out)."""
        times = [m.group_time for m in self.members.values()]
        firing = [m.group_time for m in self.members.values() if m.status is Status.FIRING]
        self.first_at = min(times)
        if self.shed.count:
            self.first_at = min(self.first_at, self.shed.first_at)
        self.last_related = max(firing or times)

    def recompute_shed(self) -> None:
        """The shed summary from the members that carry shed alerts (after a split)."""
        self.shed = ShedSummary()
        for member in self.members.values():
            if member.shed_below is not None:
                self.shed.absorb(member.shed_below)


def settled_at(member: Member) -> float:
    """When a resolved member last mattered: its start or its resolve, whichever is later."""
    ends = member.ends_at
    return member.group_time if ends is None or ends < member.group_time else ends


class ShedSummary:
    """What an incident still needs of the members it shed (see ``member_retention``).

    Ranking and the event's services, severity and title are computed from the
    earliest alert and the worst severity of each service, so keeping those per
    service makes them come out as if nothing had been shed.
    """

    __slots__ = ("count", "first", "first_at", "names", "worst")

    def __init__(self) -> None:
        self.count = 0
        self.first_at = inf  # earliest group time: an incident's window still starts there
        self.first: dict[str, tuple[float, str, bool]] = {}  # service -> (start, fp, known)
        self.worst: dict[str, Severity] = {}
        self.names: dict[str, None] = {}

    def add(self, member: Member) -> None:
        self.count += 1
        self.first_at = min(self.first_at, member.group_time)
        self._note(
            member.service, (member.starts_at, member.fingerprint, member.known), member.severity
        )
        self.names[member.name] = None

    def absorb(self, other: ShedSummary) -> None:
        """Fold in another summary (a merged incident's, or one a moved member carries)."""
        self.count += other.count
        self.first_at = min(self.first_at, other.first_at)
        for service, first in other.first.items():
            self._note(service, first, other.worst[service])
        self.names.update(other.names)

    def _note(self, service: str, first: tuple[float, str, bool], severity: Severity) -> None:
        held = self.first.get(service)
        if held is None or first[:2] < held[:2]:
            self.first[service] = first
        worst = self.worst.get(service)
        if worst is None or severity.rank > worst.rank:
            self.worst[service] = severity

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "first_at": self.first_at,
            "first": [[s, *f] for s, f in self.first.items()],
            "worst": {s: v.value for s, v in self.worst.items()},
            "names": list(self.names),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ShedSummary:
        out = cls()
        if raw:
            out.count = int(raw["count"])
            out.first_at = float(raw["first_at"])
            out.first = {str(s): (float(t), str(fp), bool(k)) for s, t, fp, k in raw["first"]}
            out.worst = {str(s): Severity(v) for s, v in raw["worst"].items()}
            out.names = dict.fromkeys(map(str, raw["names"]))
        return out


def _time_of(entry: tuple[float, str]) -> float:
    return entry[0]


class TimeIndex:
    """Fingerprints of one service's live members, sorted by group time.

    Linking only ever looks at alerts within a time window of the new one, so
    a range scan keeps placement cost bounded by what is near in time, not by
    everything that is open on a hot service.
    """

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: list[tuple[float, str]] = []

    def __bool__(self) -> bool:
        return bool(self._items)

    def add(self, t: float, fp: str) -> None:
        insort(self._items, (t, fp))

    def remove(self, t: float, fp: str) -> None:
        i = bisect_left(self._items, (t, fp))
        if i < len(self._items) and self._items[i] == (t, fp):
            del self._items[i]

    def nearest(self, t: float, within: float, limit: int) -> list[str]:
        """Up to ``limit`` fingerprints within ``within`` of ``t``, closest first.

        Time-only links want the closest alert in time; the cap keeps a storm of
        alerts inside the window from making each lookup scan all of them.
        """
        items = self._items
        right = bisect_left(items, (t, ""))
        left = right - 1
        out: list[str] = []
        while len(out) < limit:
            dl = t - items[left][0] if left >= 0 else None
            dr = items[right][0] - t if right < len(items) else None
            if dl is not None and dl <= within and (dr is None or dr > within or dl <= dr):
                out.append(items[left][1])
                left -= 1
            elif dr is not None and dr <= within:
                out.append(items[right][1])
                right += 1
            else:
                break
        return out

    def outward(self, t: float, lo: float, hi: float) -> Iterator[tuple[float, str]]:
        """``(|offset|, fingerprint)`` of entries in ``[lo, hi]``, closest to ``t`` first.

        Lets a search for the best link stop at the first acceptable alert
        instead of ranking every alert of a hot service. Do not mutate the
        index while iterating.
        """
        items = self._items
        if hi < t:  # the window lies wholly before t
            left, right = bisect_right(items, hi, key=_time_of) - 1, len(items)
        else:
            left = bisect_left(items, (t, "")) - 1
            right = left + 1 if lo <= t else bisect_left(items, (lo, ""))
        n = len(items)
        while True:
            dl = t - items[left][0] if left >= 0 and items[left][0] >= lo else None
            dr = items[right][0] - t if right < n and items[right][0] <= hi else None
            if dl is None:
                if dr is None:
                    return
                yield dr, items[right][1]
                right += 1
            elif dr is None or dl <= dr:
                yield dl, items[left][1]
                left -= 1
            else:
                yield dr, items[right][1]
                right += 1

    def between(self, lo: float, hi: float) -> Iterator[str]:
        """Fingerprints with ``lo <= t <= hi``, in time order (a snapshot: safe to mutate)."""
        items = self._items
        i = bisect_left(items, (lo, ""))
        out = []
        while i < len(items) and items[i][0] <= hi:
            out.append(items[i][1])
            i += 1
        return iter(out)


#: Link class of an alert with no parent: any offer of a link beats it.
ROOT_CLASS = (99, 0)
#: Link offsets are bucketed by binary exponent between these bounds (about 1 us
#: to 34 years); an offset of exactly 0 (an alert of the same notification) has its own.
_MIN_BUCKET, _MAX_BUCKET, _ZERO_BUCKET = -20, 30, -99


def _offset_bucket(offset: float) -> int:
    """A bucket ``b`` with ``offset < 2**b`` (or the zero bucket)."""
    if offset == 0.0:
        return _ZERO_BUCKET
    return min(max(frexp(offset)[1], _MIN_BUCKET), _MAX_BUCKET)


def _bucket_reach(bucket: int) -> float:
    """How far from an offer's time a member of ``bucket`` can be and still take it,
    with a factor 2 margin against rounding at the bucket's edge."""
    if bucket == _ZERO_BUCKET:
        return 0.0
    return inf if bucket >= _MAX_BUCKET else ldexp(1.0, bucket + 1)


class LinkIndex:
    """Live members per service key, grouped by how strongly they are linked now.

    A new alert offers a link of some class ``(tier, hops)`` to the alerts of a
    related service. Only alerts linked by a weaker class, or by the same class
    at a larger time offset, can take it. Grouping each service's alerts by
    their current link class, and the same-class ones by a power-of-two bound
    on their link offset, lets the search skip the alerts that are already
    explained better. In a storm most alerts are, so the cost of placing an
    alert follows the links that can change, not the number of alerts open on
    the services around it.
    """

    __slots__ = ("_by_key", "_slots")

    def __init__(self) -> None:
        # key -> link class -> (all its members, the same split by offset bucket)
        self._by_key: dict[str, dict[tuple[int, int], tuple[TimeIndex, dict[int, TimeIndex]]]] = {}
        self._slots: dict[str, tuple[str, tuple[int, int], int, float]] = {}

    def put(self, member: Member) -> None:
        """Index ``member`` under its current link (re-indexing it if present)."""
        self.drop(member)
        rank = member.parent_rank
        if rank is None:
            cls, bucket = ROOT_CLASS, _ZERO_BUCKET
        else:
            cls, bucket = (rank[0], rank[1]), _offset_bucket(rank[2])
        classes = self._by_key.setdefault(member.key, {})
        group = classes.get(cls)
        if group is None:
            group = classes[cls] = (TimeIndex(), {})
        everyone, buckets = group
        entry = member.group_time, member.fingerprint
        everyone.add(*entry)
        index = buckets.get(bucket)
        if index is None:
            index = buckets[bucket] = TimeIndex()
        index.add(*entry)
        self._slots[member.fingerprint] = (member.key, cls, bucket, member.group_time)

    def relinked(self, member: Member) -> None:
        """``member``'s link changed: re-index it if it is indexed."""
        if member.fingerprint in self._slots:
            self.put(member)

    def drop(self, member: Member) -> None:
        """Remove ``member``'s entry (if this member, not an older namesake, owns it)."""
        fp = member.fingerprint
        slot = self._slots.get(fp)
        if slot is None or slot[0] != member.key or slot[3] != member.group_time:
            return
        key, cls, bucket, t = slot
        del self._slots[fp]
        classes = self._by_key[key]
        everyone, buckets = classes[cls]
        everyone.remove(t, fp)
        index = buckets[bucket]
        index.remove(t, fp)
        if not index:
            del buckets[bucket]
        if not everyone:
            del classes[cls]
            if not classes:
                del self._by_key[key]

    def could_take(
        self, key: str, offer: tuple[int, int], t: float, lo: float, hi: float, *,
        roots_only: bool = False,
    ) -> list[str]:
        """Fingerprints in ``[lo, hi]`` of ``key`` that a link of class ``offer`` from
        time ``t`` might improve (a superset: the caller ranks each exactly)."""
        classes = self._by_key.get(key)
        if not classes:
            return []
        if roots_only:
            roots = classes.get(ROOT_CLASS)
            return list(roots[0].between(lo, hi)) if roots is not None else []
        out: list[str] = []
        for cls, (everyone, buckets) in classes.items():
            if cls > offer:
                out.extend(everyone.between(lo, hi))
            elif cls == offer:
                for bucket, index in buckets.items():
                    reach = _bucket_reach(bucket)
                    out.extend(index.between(max(lo, t - reach), min(hi, t + reach)))
        return out


@dataclass(slots=True)
class Closed:
    """What is remembered of a closed incident's fingerprint."""

    incident_id: str
    starts_at: float
    closed_at: float


@dataclass(slots=True)
class Timers:
    """A lazy timer heap: entries are re-validated when they fire."""

    heap: list[tuple[float, int, str]] = field(default_factory=list)

    def schedule(self, due: float, incident: Incident) -> None:
        heapq.heappush(self.heap, (due, incident.seq, incident.id))

    def pop_due(self, clock: float) -> list[str]:
        due: list[str] = []
        while self.heap and self.heap[0][0] <= clock:
            due.append(heapq.heappop(self.heap)[2])
        return due


_INCIDENT_FIELDS = (
    "created_at",
    "first_at",
    "last_related",
    "last_activity",
    "updated_at",
    "version",
    "emissions",
    "first_emitted_at",
    "last_emitted_at",
    "published_resolved",
    "resolved_at",
    "resolved_reason",
    "merged_into",
    "records",
    "retired",
)
_MEMBER_FIELDS = (
    "fingerprint",
    "service",
    "known",
    "key",
    "name",
    "summary",
    "starts_at",
    "ends_at",
    "group_time",
    "count",
    "flaps",
    "flapping",
    "late",
    "parent",
)


def dump_incident(inc: Incident) -> dict[str, Any]:
    out: dict[str, Any] = {"id": inc.id, "seq": inc.seq, "previous": inc.previous}
    for name in _INCIDENT_FIELDS:
        out[name] = getattr(inc, name)
    members = []
    for m in inc.members.values():
        raw = {name: getattr(m, name) for name in _MEMBER_FIELDS}
        raw["severity"] = m.severity.value
        raw["status"] = m.status.value
        raw["parent_rank"] = list(m.parent_rank) if m.parent_rank is not None else None
        raw["children"] = list(m.children)
        raw["joined"] = m.joined.to_dict()
        if m.shed_below is not None:
            raw["shed_below"] = m.shed_below.to_json()
        members.append(raw)
    out["members"] = members
    return out


def load_incident(raw: dict[str, Any]) -> Incident:
    inc = Incident(raw["id"], raw["seq"], raw["created_at"], raw["previous"])
    for name in _INCIDENT_FIELDS:
        if name == "published_resolved" and name not in raw:
            # Snapshots written before update coalescing: an incident published
            # after it resolved showed it resolved; nothing was ever held back.
            raw[name] = raw["resolved_at"] is not None and raw["version"] > 0
        setattr(inc, name, raw[name])
    for m in raw["members"]:
        member = Member()
        for name in _MEMBER_FIELDS:
            setattr(member, name, m[name])
        member.severity = Severity(m["severity"])
        member.status = Status(m["status"])
        rank = m["parent_rank"]
        member.parent_rank = (
            (int(rank[0]), int(rank[1]), float(rank[2]), str(rank[3])) if rank else None
        )
        member.children = dict.fromkeys(m["children"])
        j = m["joined"]
        member.joined = JoinedBy(
            JoinReason(j["reason"]), j["via"], j["hops"], tuple(j["path"]) if j["path"] else None
        )
        member.incident = inc.id
        inc.members[member.fingerprint] = member
        inc.firing += member.status is Status.FIRING
        if member.status is Status.RESOLVED:
            inc.resolved_heap.append((settled_at(member), member.fingerprint))
        shed = m.get("shed_below")  # absent in older snapshots
        if shed is not None:
            member.shed_below = ShedSummary.from_json(shed)
            inc.shed.absorb(member.shed_below)
    heapq.heapify(inc.resolved_heap)
    return inc
