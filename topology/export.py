"""Text exports of a topology: Mermaid, Graphviz DOT and node-link JSON.

Diagrams are how most people review a topology, and Mermaid renders inline
in GitHub and GitLab markdown, DOT in every Graphviz tool. Both exports are
deterministic (ids in sorted order) so a diagram checked into a repository
only changes when the graph does. Images (SVG, PNG) are drawn by
:mod:`topology.render`.
"""

from __future__ import annotations

import json
from dataclasses import replace

from topology.graph import Topology

TEXT_FORMATS: tuple[str, ...] = ("mermaid", "dot", "nodelink")
IMAGE_FORMATS: tuple[str, ...] = ("svg", "png")

_MERMAID_SHAPES = {
    "service": ('["', '"]'),
    "database": ('[("', '")]'),
    "cache": ('(["', '"])'),
    "queue": ('[["', '"]]'),
    "gateway": ('{{"', '"}}'),
}
_MERMAID_FILLS = {
    "service": "#dbe9f6",
    "database": "#f6e3c6",
    "cache": "#f9f0c1",
    "queue": "#e3d9f1",
    "gateway": "#d8efdc",
}
_DOT_SHAPES = {
    "service": "box",
    "database": "cylinder",
    "cache": "cylinder",
    "queue": "cds",
    "gateway": "hexagon",
}


def neighbourhood(topology: Topology, service: str, depth: int) -> Topology:
    """The services within ``depth`` hops of ``service`` (either direction), edges among them.

    Raises:
        KeyError: ``service`` is not an id or alias of the topology.
    """
    service_id = topology.resolve(service)
    if service_id is None:
        raise KeyError(service)
    keep = set(topology.neighbourhood(service_id, depth, "both"))
    return Topology.from_services(
        [
            replace(s, depends_on=tuple(d for d in s.depends_on if d in keep))
            for sid, s in topology.services.items()
            if sid in keep
        ],
        source=topology.source,
        name=topology.name,
    )


def to_mermaid(topology: Topology) -> str:
    """A Mermaid ``flowchart LR``: callers on the left, their dependencies to the right."""
    ids = {sid: f"n{index}" for index, sid in enumerate(topology)}
    lines = ["flowchart LR", f"  %% {_title(topology)}"]
    for sid in topology:
        kind = topology.service(sid).kind
        start, end = _MERMAID_SHAPES[kind]
        lines.append(f"  {ids[sid]}{start}{_mermaid_text(sid)}{end}")
    lines += [
        f"  {ids[a]} --> {ids[b]}" for a in topology for b in sorted(topology.dependencies(a))
    ]
    for kind in sorted({s.kind for s in topology.services.values()}):
        members = ",".join(ids[sid] for sid in topology if topology.service(sid).kind == kind)
        lines.append(f"  classDef {kind} fill:{_MERMAID_FILLS[kind]}")
        lines.append(f"  class {members} {kind}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def to_dot(topology: Topology) -> str:
    """A Graphviz digraph, left to right, shapes by kind (cylinder for data stores)."""
    name = _dot_string(topology.name or "topology")
    lines = [
        f"digraph {name} {{",
        f"  // {_title(topology)}",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded", fontname="Helvetica"];',
    ]
    for sid in topology:
        service = topology.service(sid)
        attributes = [f"shape={_DOT_SHAPES[service.kind]}"]
        if service.team:
            attributes.append(f"tooltip={_dot_string('team ' + service.team)}")
        lines.append(f"  {_dot_string(sid)} [{', '.join(attributes)}];")
    lines += [
        f"  {_dot_string(a)} -> {_dot_string(b)};"
        for a in topology
        for b in sorted(topology.dependencies(a))
    ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_nodelink_text(topology: Topology) -> str:
    """Node-link JSON, indented, ending in a newline (loads back to the same version)."""
    return json.dumps(topology.to_node_link(), indent=2, ensure_ascii=False) + "\n"


def export_text(topology: Topology, fmt: str) -> str:
    """One of :data:`TEXT_FORMATS`; ValueError for anything else."""
    if fmt == "mermaid":
        return to_mermaid(topology)
    if fmt == "dot":
        return to_dot(topology)
    if fmt == "nodelink":
        return to_nodelink_text(topology)
    raise ValueError(f"unknown text format {fmt!r}; choose from {', '.join(TEXT_FORMATS)}")


def _title(topology: Topology) -> str:
    label = topology.name or "topology"
    return (
        f"{label}: {len(topology)} services, {topology.dependency_count} dependencies, "
        f"version {topology.version}"
    )
