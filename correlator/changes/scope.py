"""Build an :class:`IncidentScope` from a published incident event.

Works on the JSON form (``IncidentEvent.to_dict()``), so the stream, the
replay and any subscriber holding only the JSON can rank suspects the same
way. The root cause is the first candidate; dependencies come from the
topology (only when the root cause is a topology service).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from correlator.changes.config import ChangesConfig
from correlator.changes.suspects import IncidentScope
from correlator.codecs.timefmt import parse_rfc3339_cached
from topology import Topology

__all__ = ["event_time", "scope_from_event"]


def event_time(event: Mapping[str, Any], key: str) -> datetime | None:
    """An RFC 3339 time field of an incident event, or None when absent or null."""
    value = event.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"incident event field {key!r} must be an RFC 3339 string")
    return parse_rfc3339_cached(value)


def _names(values: object) -> tuple[str, ...]:
    if not isinstance(values, list | tuple):
        return ()
    return tuple(dict.fromkeys(v for v in values if isinstance(v, str) and v))


def scope_from_event(event: Mapping[str, Any], topology: Topology,
                     config: ChangesConfig) -> IncidentScope:
    """The ranking scope of one incident event (a dict as published)."""
    opened = event_time(event, "opened_at")
    if opened is None:
        raise ValueError("incident event has no opened_at")
    horizon = event_time(event, "resolved_at") or event_time(event, "updated_at") or opened
    candidates = _names([c.get("service") for c in event.get("candidates") or ()
                         if isinstance(c, Mapping)])
    root_doc = event.get("root_cause")
    root = root_doc.get("service") if isinstance(root_doc, Mapping) else None
    if not isinstance(root, str) or not root:
        root = candidates[0] if candidates else None
    members = _names([*(event.get("services") or ()), *(event.get("unknown_services") or ())])
    memo = _MEMO.of(topology)
    dependencies: Mapping[str, int] = {}
    if root is not None and root in topology and config.dependency_hops > 0:
        key = (root, config.dependency_hops)
        found = memo.dependencies.get(key)
        if found is None:
            reach = topology.neighbourhood(root, config.dependency_hops, "dependencies")
            found = memo.dependencies[key] = {s: d for s, d in sorted(reach.items()) if s != root}
        dependencies = found
    around = memo.member_dependencies.get((members, root))
    if around is None:
        around = memo.member_dependencies[(members, root)] = _member_dependencies(
            members, root, topology
        )
    return IncidentScope(
        root=root,
        candidates=candidates,
        members=members,
        first_alert=opened,
        horizon=max(horizon, opened),
        dependencies=dependencies,
        member_dependencies=around,
    )


class _Memo:
    """Topology lookups of recent scopes, for the one topology they were made with.

    Every version of an incident has the same root cause and much the same members,
    so the walks of the graph repeat; their results are shared read-only between the
    scopes (an :class:`IncidentScope` never changes its maps).
    """

    __slots__ = ("dependencies", "member_dependencies", "topology")

    def __init__(self) -> None:
        self.topology: Topology | None = None
        self.dependencies: dict[tuple[str, int], dict[str, int]] = {}
        self.member_dependencies: dict[tuple[tuple[str, ...], str | None], dict[str, str]] = {}

    def of(self, topology: Topology) -> _Memo:
        """This memo, emptied first if it was made with another topology or is full."""
        if (
            self.topology is not topology
            or len(self.member_dependencies) >= _MEMO_LIMIT
            or len(self.dependencies) >= _MEMO_LIMIT
        ):
            self.topology = topology
            self.dependencies = {}
            self.member_dependencies = {}
        return self


_MEMO_LIMIT = 4096
_MEMO = _Memo()


def _member_dependencies(members: tuple[str, ...], root: str | None,
                         topology: Topology) -> dict[str, str]:
    """Direct dependencies of the members outside the incident -> the first member calling it."""
    inside = set(members) | ({root} if root else set())
    found: dict[str, str] = {}
    for member in sorted(inside):
        if member not in topology:
            continue
        for dependency in sorted(topology.dependencies(member)):
            if dependency not in inside:
                found.setdefault(dependency, member)
    return dict(sorted(found.items()))
