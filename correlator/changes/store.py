"""The change log: changes observed so far, per service, in time order.

It is the only stateful piece of change correlation. Changes are keyed by
the topology service they resolve to (aliases and case folded, as alerts
are), kept sorted by ``(time, id)`` so a query is a bisect, de-duplicated
by id (at-least-once delivery re-sends), and forgotten after the retention
period of event time.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable
from datetime import datetime, timedelta

from correlator.changes.model import Change
from correlator.changes.suspects import ResolvedChange
from topology import Topology

__all__ = ["ChangeLog", "resolve_change_service"]

_Entry = tuple[datetime, str, ResolvedChange]


def resolve_change_service(change: Change, topology: Topology) -> str:
    """The topology id of the first name of ``change`` that resolves, else its raw service."""
    for name in change.names:
        found = topology.resolve(name)
        if found is not None:
            return found
    return change.service


class ChangeLog:
    """Observed changes by service; add, query by time range, prune."""

    def __init__(self, topology: Topology, retention: timedelta) -> None:
        self._topology = topology
        self._retention = retention
        self._by_service: dict[str, list[_Entry]] = {}
        self._ids: dict[str, str] = {}  # change id -> service key

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, change: Change) -> ResolvedChange | None:
        """Record a change; ``None`` if one with the same id is already known."""
        if change.id in self._ids:
            return None
        resolved = ResolvedChange(resolve_change_service(change, self._topology), change)
        insort(self._by_service.setdefault(resolved.service, []), (change.at, change.id, resolved))
        self._ids[change.id] = resolved.service
        return resolved

    def between(self, services: Iterable[str], start: datetime,
                end: datetime) -> list[ResolvedChange]:
        """Changes on ``services`` with ``start <= time <= end``, in (time, id) order."""
        found: list[_Entry] = []
        for service in sorted(set(services)):
            entries = self._by_service.get(service)
            if not entries:
                continue
            lo = bisect_left(entries, start, key=lambda e: e[0])
            hi = bisect_right(entries, end, key=lambda e: e[0])
            found.extend(entries[lo:hi])
        found.sort(key=lambda e: (e[0], e[1]))
        return [entry[2] for entry in found]

    def prune(self, now: datetime) -> int:
        """Forget changes older than ``now - retention``; returns how many."""
        cutoff = now - self._retention
        dropped = 0
        for service in sorted(self._by_service):
            entries = self._by_service[service]
            cut = bisect_left(entries, cutoff, key=lambda e: e[0])
            if cut:
                for _, change_id, _ in entries[:cut]:
                    del self._ids[change_id]
                del entries[:cut]
                dropped += cut
            if not entries:
                del self._by_service[service]
        return dropped

    def set_topology(self, topology: Topology) -> None:
        """Swap the topology and re-resolve every kept change under it."""
        changes = [entry[2].change for entries in self._by_service.values() for entry in entries]
        self._topology = topology
        self._by_service.clear()
        self._ids.clear()
        for change in sorted(changes, key=lambda c: (c.at, c.id)):
            self.add(change)

    def changes(self) -> list[Change]:
        """Every kept change in (time, id) order (for snapshots)."""
        entries = [entry for values in self._by_service.values() for entry in values]
        entries.sort(key=lambda e: (e[0], e[1]))
        return [entry[2].change for entry in entries]
