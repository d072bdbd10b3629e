"""What changed between two topologies, and which correlation domains it touches.

A topology change is a deployment of its own: a new edge can merge two
correlation domains (and move their alerts to one worker), a removed edge can
split one. Reviewers of a topology pull request need to see that, not only
the lines that changed, so the diff names the affected domains as the stream
router computes them (weakly connected components named by their smallest
service id; the ``topology diff`` command uses the router's own function,
which also splits oversized components).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from topology.fields import slo_document
from topology.graph import Topology
from topology.model import Service

DomainFunction = Callable[[Topology], Mapping[str, str]]
"""``topology -> {service id: domain name}`` for every service."""

_ATTRIBUTES = ("kind", "team", "tier", "criticality", "aliases", "slo")


@dataclass(frozen=True, slots=True)
class AttributeChange:
    """One attribute of one service, before and after (None when unset)."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class ServiceChange:
    """A service present in both topologies whose attributes differ."""

    service: str
    changes: tuple[AttributeChange, ...]


@dataclass(frozen=True, slots=True)
class DomainImpact:
    """One correlation domain the change touches.

    ``name`` is the domain's name in the new topology (in the old one for a
    domain that is gone); ``before`` the old domains its services came from;
    ``change`` one of ``new``, ``removed``, ``merged``, ``split``, ``changed``.
    """

    name: str
    size: int
    before: tuple[str, ...]
    change: str


@dataclass(frozen=True, slots=True)
class TopologyDiff:
    """Everything that differs between ``old`` and ``new``, each part sorted."""

    old_version: str
    new_version: str
    services_added: tuple[str, ...]
    services_removed: tuple[str, ...]
    services_changed: tuple[ServiceChange, ...]
    edges_added: tuple[tuple[str, str], ...]
    edges_removed: tuple[tuple[str, str], ...]
    domains: tuple[DomainImpact, ...]

    @property
    def empty(self) -> bool:
        """True when the two graphs are the same (then the versions are equal too)."""
        return not (
            self.services_added
            or self.services_removed
            or self.services_changed
            or self.edges_added
            or self.edges_removed
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready document (``topology diff --json``)."""
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "services_added": list(self.services_added),
            "services_removed": list(self.services_removed),
            "services_changed": [
                {
                    "service": c.service,
                    "changes": {a.field: {"before": a.before, "after": a.after} for a in c.changes},
                }
                for c in self.services_changed
            ],
            "edges_added": [list(e) for e in self.edges_added],
            "edges_removed": [list(e) for e in self.edges_removed],
            "domains_affected": [
                {"domain": d.name, "size": d.size, "before": list(d.before), "change": d.change}
                for d in self.domains
            ],
        }


def component_domains(topology: Topology) -> dict[str, str]:
    """Weakly connected components named by their smallest id (domains without splits)."""
    return {sid: min(part) for part in topology.components() for sid in part}


def diff_topologies(
    old: Topology, new: Topology, domains: DomainFunction = component_domains
) -> TopologyDiff:
    """Compare two topologies; ``domains`` assigns each service its correlation domain."""
    old_ids, new_ids = set(old), set(new)
    changed = tuple(
        change
        for sid in sorted(old_ids & new_ids)
        if (change := _service_change(old.service(sid), new.service(sid))) is not None
    )
    old_edges, new_edges = _edges(old), _edges(new)
    added_edges = tuple(sorted(new_edges - old_edges))
    removed_edges = tuple(sorted(old_edges - new_edges))
    touched = (
        (old_ids ^ new_ids)
        | {c.service for c in changed}
        | {end for edge in (*added_edges, *removed_edges) for end in edge}
    )
    return TopologyDiff(
        old_version=old.version,
        new_version=new.version,
        services_added=tuple(sorted(new_ids - old_ids)),
        services_removed=tuple(sorted(old_ids - new_ids)),
        services_changed=changed,
        edges_added=added_edges,
        edges_removed=removed_edges,
        domains=_domain_impacts(touched, domains(old), domains(new)),
    )


def _edges(topology: Topology) -> set[tuple[str, str]]:
    return {(a, b) for a in topology for b in topology.dependencies(a)}


def _value(service: Service, field: str) -> Any:
    value = getattr(service, field)
    if field == "aliases":
        return sorted(value)
    if field == "slo":
        return None if value is None else slo_document(value)
    return value


def _service_change(before: Service, after: Service) -> ServiceChange | None:
    changes = tuple(
        AttributeChange(field, _value(before, field), _value(after, field))
        for field in _ATTRIBUTES
        if _value(before, field) != _value(after, field)
    )
    return ServiceChange(before.id, changes) if changes else None


def _domain_impacts(
    touched: set[str], old: Mapping[str, str], new: Mapping[str, str]
) -> tuple[DomainImpact, ...]:
    new_members: dict[str, set[str]] = {}
    for sid, domain in new.items():
        new_members.setdefault(domain, set()).add(sid)
    old_members: dict[str, set[str]] = {}
    for sid, domain in old.items():
        old_members.setdefault(domain, set()).add(sid)
    affected_new = {new[s] for s in touched if s in new}
    affected_old = {old[s] for s in touched if s in old}
    # A domain is also affected when its services used to share a domain with a touched one.
    affected_new |= {new[s] for d in affected_old for s in old_members[d] if s in new}
    impacts: list[DomainImpact] = []
    for name in sorted(affected_new):
        members = new_members[name]
        before = tuple(sorted({old[s] for s in members if s in old}))
        if not before:
            change = "new"
        elif len(before) > 1:
            change = "merged"
        elif any(new[s] != name for s in old_members[before[0]] if s in new):
            change = "split"
        else:
            change = "changed"
        impacts.append(DomainImpact(name, len(members), before, change))
    for name in sorted(affected_old):
        if not any(s in new for s in old_members[name]):
            impacts.append(DomainImpact(name, 0, (name,), "removed"))
    return tuple(impacts)


def format_diff(result: TopologyDiff, old: Topology, new: Topology) -> list[str]:
    """The human-readable report, one line per item."""
    lines = [
        f"--- {old.source} ({_summary(old)})",
        f"+++ {new.source} ({_summary(new)})",
    ]
    if result.empty:
        return [*lines, "no differences"]
    sections: list[tuple[str, list[str]]] = [
        ("services added", [f"  + {s}" for s in result.services_added]),
        ("services removed", [f"  - {s}" for s in result.services_removed]),
        ("services changed", [f"  ~ {c.service}: {_describe(c)}" for c in result.services_changed]),
        ("dependencies added", [f"  + {a} -> {b}" for a, b in result.edges_added]),
        ("dependencies removed", [f"  - {a} -> {b}" for a, b in result.edges_removed]),
        ("correlation domains affected", [_domain_line(d) for d in result.domains]),
    ]
    for title, items in sections:
        if items:
            lines += [f"{title} ({len(items)}):", *items]
    return lines


def _summary(topology: Topology) -> str:
    return (
        f"{len(topology)} services, {topology.dependency_count} dependencies, "
        f"version {topology.version}"
    )


def _describe(change: ServiceChange) -> str:
    parts: list[str] = []
    for item in change.changes:
        if item.field == "aliases":
            gone = [f"-{a}" for a in item.before if a not in item.after]
            came = [f"+{a}" for a in item.after if a not in item.before]
            parts.append(f"aliases {' '.join([*came, *gone])}")
        else:
            parts.append(f"{item.field} {_show(item.before)} -> {_show(item.after)}")
    return "; ".join(parts)


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _domain_line(impact: DomainImpact) -> str:
    if impact.change == "removed":
        return f"  {impact.name}: removed"
    size = f"{impact.size} service{'s' if impact.size != 1 else ''}"
    detail = {
        "new": "new",
        "merged": f"merged from {', '.join(impact.before)}",
        "split": f"split from {', '.join(impact.before)}",
        "changed": "changed",
    }[impact.change]
    if impact.change == "changed" and impact.before != (impact.name,):
        detail = f"changed (was {impact.before[0]})"
    return f"  {impact.name} ({size}): {detail}"
