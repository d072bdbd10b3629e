"""One canonical form of a service list, and the documents derived from it.

The version hash, the node-link export and the YAML export are all built from
the same sorted view of the services, so a topology written in either format
and read back, in any order, gets the same version: the engine can stamp
incidents with ``topology_version`` and two workers agree on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from topology.fields import slo_document
from topology.model import Service

FORMAT_VERSION = 1
"""The only project YAML format version this package reads and writes."""

_OPTIONAL_TEXT = ("team", "tier", "criticality")


def version_of(services: Mapping[str, Service], targets: Mapping[str, tuple[str, ...]]) -> str:
    """Return ``"sha256:"`` plus 16 hex digits of the canonical graph.

    ``targets`` maps each id to its sorted, distinct dependencies (the graph
    has computed them already). The name of the topology and its source are
    not part of the hash: the version identifies the graph, not the file.
    An SLO is appended only when a service has one, so adding the ``slo``
    key to the format left the versions of existing files unchanged.
    """
    canonical = [
        [
            s.id,
            s.kind,
            s.team,
            s.tier,
            s.criticality,
            sorted(s.aliases) if len(s.aliases) > 1 else s.aliases,
            targets[s.id],
            *_slo_key(s),
        ]
        for s in _sorted(services)
    ]
    data = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]


def _slo_key(service: Service) -> tuple[list[object], ...]:
    slo = service.slo
    return () if slo is None else ([slo.objective, slo.window_seconds, list(slo.severities)],)


def to_node_link(services: Mapping[str, Service], name: str | None) -> dict[str, Any]:
    """Build a networkx node-link document (``links`` key, directed)."""
    nodes: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for service in _sorted(services):
        node: dict[str, Any] = {"id": service.id, "kind": service.kind}
        node.update(_optional_fields(service))
        nodes.append(node)
        links.extend({"source": service.id, "target": t} for t in sorted(set(service.depends_on)))
    graph = {} if name is None else {"name": name}
    return {
        "directed": True,
        "multigraph": False,
        "graph": graph,
        "nodes": nodes,
        "links": links,
    }


def to_yaml_dict(services: Mapping[str, Service], name: str | None) -> dict[str, Any]:
    """Build the project YAML document (list style, defaults left out)."""
    entries: list[dict[str, Any]] = []
    for service in _sorted(services):
        entry: dict[str, Any] = {"id": service.id}
        if service.kind != "service":
            entry["kind"] = service.kind
        entry.update(_optional_fields(service))
        if service.depends_on:
            entry["depends_on"] = sorted(set(service.depends_on))
        entries.append(entry)
    document: dict[str, Any] = {"version": FORMAT_VERSION}
    if name is not None:
        document["name"] = name
    document["services"] = entries
    return document


def _optional_fields(service: Service) -> dict[str, Any]:
    fields: dict[str, Any] = {
        key: getattr(service, key) for key in _OPTIONAL_TEXT if getattr(service, key) is not None
    }
    if service.aliases:
        fields["aliases"] = sorted(service.aliases)
    if service.slo is not None:
        fields["slo"] = slo_document(service.slo)
    return fields


def _sorted(services: Mapping[str, Service]) -> Iterable[Service]:
    return (services[key] for key in sorted(services))
