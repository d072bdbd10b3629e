"""How alerts reach the engine: an emulation of Alertmanager's dispatcher.

The engine never sees alerts one by one; it sees Alertmanager notifications.
Alerts are bucketed into aggregation groups by ``group_by`` labels. A new
group waits ``group_wait`` before its first notification, then is flushed
every ``group_interval``; a flush is sent when alerts were added or resolved
since the last notification, or when ``repeat_interval`` has passed, and it
always carries *every* current alert of the group, so firing alerts are
re-sent many times. Resolved alerts leave the group after the flush that
reported them. Alerts reach Alertmanager only once their rule's ``for:``
duration has elapsed, and notifications get a little network jitter, so the
notification stream is not in event-time order.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from correlator.simulate.faults import Episode
from correlator.simulate.labels import SimAlert
from correlator.simulate.scenarios import Knobs

_SECOND = 1000


@dataclass(frozen=True, slots=True)
class Entry:
    """One alert as listed in one notification."""

    alert: SimAlert
    episode: Episode
    resolved: bool


@dataclass(frozen=True, slots=True)
class Notification:
    """One webhook call: a group's full current alert list at one flush."""

    send_ms: int  # arrival time at the engine, jitter included
    group_labels: tuple[tuple[str, str], ...]
    reason: str
    entries: tuple[Entry, ...]


@dataclass(slots=True)
class _Group:
    labels: tuple[tuple[str, str], ...]
    active: dict[str, Entry] = field(default_factory=dict)
    last_firing: frozenset[str] = frozenset()
    last_resolved: frozenset[str] = frozenset()
    last_sent_ms: int | None = None
    next_flush_ms: int | None = None


@dataclass(frozen=True, slots=True, order=True)
class _Arrival:
    at_ms: int
    order: int  # resolves before fires at the same instant, then input order
    seq: int
    alert: SimAlert = field(compare=False)
    episode: Episode = field(compare=False)
    resolved: bool = field(compare=False)


def _arrivals(alerts: Sequence[SimAlert], rng: random.Random) -> list[_Arrival]:
    """Moments Alertmanager learns of each firing and each resolution."""
    out: list[_Arrival] = []
    for alert in alerts:
        for episode in alert.episodes:
            received = episode.starts_ms + alert.delay_ms
            if received >= episode.ends_ms:
                continue  # resolved before its ``for:`` elapsed: never sent
            out.append(_Arrival(received, 1, len(out), alert, episode, False))
            lag = round(rng.uniform(0.0, 15.0) * _SECOND)  # next rule evaluation
            out.append(_Arrival(episode.ends_ms + lag, 0, len(out), alert, episode, True))
    return sorted(out)


def _should_send(group: _Group, now: int, knobs: Knobs) -> str | None:
    """Alertmanager's dedup decision; returns the notification reason or None."""
    firing = frozenset(fp for fp, e in group.active.items() if not e.resolved)
    resolved = frozenset(fp for fp, e in group.active.items() if e.resolved)
    if group.last_sent_ms is None:
        return "first notification" if firing else None
    if firing - group.last_firing:
        return "new alerts added"
    if resolved - group.last_resolved and (resolved & group.last_firing):
        return "all alerts resolved" if not firing else "some alerts resolved"
    if firing and now - group.last_sent_ms >= knobs.repeat_interval_s * _SECOND:
        return "repeat interval elapsed"
    return None


def _flush(group: _Group, now: int, knobs: Knobs, rng: random.Random,
           out: list[Notification]) -> None:
    reason = _should_send(group, now, knobs)
    if reason is not None:
        entries = tuple(group.active[fp] for fp in sorted(group.active))
        jitter = round(rng.uniform(0.0, knobs.arrival_jitter_s) * _SECOND)
        out.append(Notification(now + jitter, group.labels, reason, entries))
        group.last_firing = frozenset(e.alert.fingerprint for e in entries if not e.resolved)
        group.last_resolved = frozenset(e.alert.fingerprint for e in entries if e.resolved)
        group.last_sent_ms = now
    for fp in [fp for fp, e in group.active.items() if e.resolved]:
        del group.active[fp]
    if group.active:
        group.next_flush_ms = now + round(knobs.group_interval_s * _SECOND)
    else:
        group.next_flush_ms = None  # the group is deleted; the next alert restarts group_wait


def _group_key(alert: SimAlert, knobs: Knobs) -> tuple[tuple[str, str], ...]:
    return tuple((name, alert.labels.get(name, "")) for name in knobs.group_by)


def dispatch(alerts: Sequence[SimAlert], rng: random.Random, knobs: Knobs) -> list[Notification]:
    """Every notification Alertmanager would send for ``alerts``, in arrival order."""
    groups: dict[tuple[tuple[str, str], ...], _Group] = {}
    # One timeline for all groups: (time, kind, tiebreak); flushes (kind 0) run before
    # arrivals at the same millisecond, matching a timer that fires first.
    timeline: list[tuple[int, int, int, tuple[tuple[str, str], ...] | None]] = []
    arrivals = _arrivals(alerts, rng)
    for index, arrival in enumerate(arrivals):
        timeline.append((arrival.at_ms, 1, index, None))
    heapq.heapify(timeline)
    out: list[Notification] = []
    flush_seq = len(arrivals)
    while timeline:
        at, kind, index, key = heapq.heappop(timeline)
        if kind == 0:
            assert key is not None
            group = groups[key]
            if group.next_flush_ms != at:
                continue  # stale timer
            _flush(group, at, knobs, rng, out)
            if group.next_flush_ms is not None:
                flush_seq += 1
                heapq.heappush(timeline, (group.next_flush_ms, 0, flush_seq, key))
            continue
        arrival = arrivals[index]
        key = _group_key(arrival.alert, knobs)
        group = groups.setdefault(key, _Group(key))
        fp = arrival.alert.fingerprint
        current = group.active.get(fp)
        if arrival.resolved:
            if current is not None and current.episode == arrival.episode:
                group.active[fp] = Entry(arrival.alert, arrival.episode, True)
            continue
        group.active[fp] = Entry(arrival.alert, arrival.episode, False)
        if group.next_flush_ms is None:
            group.next_flush_ms = at + round(knobs.group_wait_s * _SECOND)
            flush_seq += 1
            heapq.heappush(timeline, (group.next_flush_ms, 0, flush_seq, key))
    return sorted(out, key=lambda n: (n.send_ms, n.group_labels))
