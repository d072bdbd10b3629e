"""Reader of networkx node-link JSON and the shared ``from``/``to`` sample format.

These documents come from other tools, so the reader is lenient where that is
harmless (unknown node, link and top-level attributes are ignored; repeated
links are merged) and strict where it is not (ids, kinds, dangling or
undirected edges), because those would silently change the graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from topology.errors import TopologyError
from topology.fields import SERVICE_FIELDS
from topology.model import Service, describe, name_problem
from topology.project_format import Parsed

_NODE_FIELDS = ("kind", "team", "tier", "criticality", "aliases", "slo")


def parse_node_link(document: Mapping[Any, Any], source: str) -> Parsed:
    """Read a node-link document; edge ``source -> target`` means source depends on target."""
    parsed = Parsed()
    top = f"{source}: top level"
    directed = document.get("directed", True)
    if directed is not True:
        why = "is false" if directed is False else f"must be true, got {describe(directed)}"
        parsed.problems.append(
            f"{top}: directed {why}; a topology needs directed edges "
            "(an edge A -> B means A depends on B)"
        )
    parsed.name = _name_of(document)
    nodes = document["nodes"]
    if not isinstance(nodes, list):
        parsed.problems.append(f"{top}: nodes must be a list, got {describe(nodes)}")
        return parsed
    entries = [_read_node(i, node, source, parsed) for i, node in enumerate(nodes)]
    known = {fields["id"] for fields in entries if fields is not None}
    depends_on = _read_links(document, known, source, parsed)
    for fields in entries:
        if fields is None:
            continue
        label = fields.pop("_label")
        fields["depends_on"] = tuple(depends_on.pop(fields["id"], ()))
        try:
            parsed.services.append(Service(**fields))
        except TopologyError as exc:  # the readers should make this impossible
            parsed.problems += [f"{source}: {label}: {p}" for p in exc.problems]
            continue
        parsed.labels.append(label)
    return parsed


def _name_of(document: Mapping[Any, Any]) -> str | None:
    graph = document.get("graph")
    for candidate in (document.get("name"), graph.get("name") if isinstance(graph, dict) else None):
        if isinstance(candidate, str) and candidate.strip():
            return candidate
    return None


def _read_node(index: int, node: object, source: str, parsed: Parsed) -> dict[str, Any] | None:
    where = f"nodes[{index}]"
    if not isinstance(node, dict):
        parsed.problems.append(f"{source}: {where}: expected an object, got {describe(node)}")
        return None
    problem = name_problem(node.get("id"))
    if problem is not None:
        parsed.problems.append(f"{source}: {where}: id {problem}")
        return None
    label = f"node {node['id']!r} ({where})"
    fields: dict[str, Any] = {"id": node["id"], "_label": label}
    for key in _NODE_FIELDS:
        raw = node.get(key)
        if raw is None:  # other tools write null for "not set"
            continue
        value, found = SERVICE_FIELDS[key](key, raw)
        parsed.problems += [f"{source}: {label}: {p}" for p in found]
        if not found:
            fields[key] = value
    return fields


def _read_links(
    document: Mapping[Any, Any], known: set[str], source: str, parsed: Parsed
) -> dict[str, list[str]]:
    """Collect each node's targets, in first-seen order, without repeats."""
    if "links" in document and "edges" in document:
        parsed.problems.append(
            f"{source}: top level: has both 'links' and 'edges'; use one of them"
        )
        return {}
    key = "edges" if "edges" in document else "links"
    links = document.get(key, [])
    if not isinstance(links, list):
        parsed.problems.append(f"{source}: top level: {key} must be a list, got {describe(links)}")
        return {}
    targets: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    for index, link in enumerate(links):
        ends = _link_ends(f"{key}[{index}]", link, known, source, parsed)
        if ends is not None and ends not in seen:
            seen.add(ends)
            targets.setdefault(ends[0], []).append(ends[1])
    return targets


def _link_ends(
    where: str, link: object, known: set[str], source: str, parsed: Parsed
) -> tuple[str, str] | None:
    if not isinstance(link, dict):
        parsed.problems.append(f"{source}: {where}: expected an object, got {describe(link)}")
        return None
    # networkx writes source/target; the shared samples write from/to (and may
    # use "source" for provenance text), so a complete source/target pair wins.
    names = ("source", "target") if "source" in link and "target" in link else ("from", "to")
    caller, callee = link.get(names[0]), link.get(names[1])
    fast = type(caller) is str and type(callee) is str and caller != callee
    if fast and caller in known and callee in known:
        return caller, callee  # the common case, without building messages
    if names[0] not in link or names[1] not in link:
        parsed.problems.append(
            f"{source}: {where}: needs 'source' and 'target' (or 'from' and 'to') keys"
        )
        return None
    label = f"{where} ({caller!r} -> {callee!r})"
    bad = [
        f"{source}: {label}: {role} {problem}"
        for role, value in zip(names, (caller, callee), strict=True)
        if (problem := _endpoint_problem(value, known)) is not None
    ]
    if not bad and caller == callee:
        bad.append(f"{source}: {label}: a service cannot depend on itself")
    parsed.problems += bad
    return None if bad else (str(caller), str(callee))


def _endpoint_problem(value: object, known: set[str]) -> str | None:
    problem = name_problem(value)
    if problem is None and value not in known:
        return f"{value!r} names no node in this document"
    return problem
