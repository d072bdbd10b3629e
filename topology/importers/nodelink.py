"""Import networkx node-link JSON (or the shared ``from``/``to`` sample format).

This is the loader's own reader: node-link is already a topology format, so
importing it only validates it and re-expresses it as project YAML. Several
files are combined; a service described twice must be described the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from topology.errors import TopologyError
from topology.importers.draft import Draft
from topology.loader import loads_topology


def import_nodelink(texts: Iterable[tuple[str, str]]) -> Draft:
    """Build a draft from node-link documents (strictly validated, like ``load_topology``)."""
    pairs = list(texts)
    draft = Draft(source=", ".join(name for name, _ in pairs) or "<nodelink>")
    for source, text in pairs:
        if not text.lstrip().startswith("{"):
            raise TopologyError([f"{source}: not node-link JSON (expected a JSON object)"], source)
        topology = loads_topology(text, source=source)
        draft.name = draft.name or topology.name
        for service in topology.services.values():
            where = f"{source}: node {service.id!r}"
            known = service.id in draft.services
            entry = draft.service(service.id, where)
            if known and (entry.kind, entry.team) != (service.kind, service.team):
                draft.warn(f"{where}: described differently in {entry.origin}; first kept")
                continue
            entry.kind, entry.team, entry.tier = service.kind, service.team, service.tier
            entry.criticality = service.criticality
            entry.aliases = sorted(set(entry.aliases) | set(service.aliases))
            entry.slo = service.slo
        for service in topology.services.values():
            for target in sorted(service.depends_on):
                draft.depend(service.id, target)
    return draft
