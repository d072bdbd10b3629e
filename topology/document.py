"""An editable topology file that writes back everything it did not change.

People annotate topology files: comments explaining why an edge exists, an
order that groups a team's services. A scripted edit that reloaded the file
into a :class:`~topology.graph.Topology` and wrote it out again would lose all
of that, so edits work on the document itself: project YAML through
ruamel.yaml's round-trip mode (comments, key order, quoting, flow or block
style and indentation are kept) and node-link JSON as ordered dicts (JSON has
no comments; key order and unknown attributes are kept).

Both adapters answer the same questions and make the same changes, without
checking the result: the caller validates the dumped text with the strict
loader and refuses to write an invalid file.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, MutableMapping, MutableSequence
from typing import Any, Protocol

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from topology.errors import TopologyError
from topology.safe_yaml import load_yaml

_FIELD_ORDER = ("id", "kind", "team", "tier", "criticality", "aliases", "depends_on", "slo")


class Document(Protocol):
    """The operations an edit needs, whatever the file format."""

    def ids(self) -> list[str]:
        """Service ids in file order (entries without a usable id are skipped)."""

    def fields(self, service_id: str) -> dict[str, Any]:
        """Plain copy of one entry's fields, ``depends_on`` and ``aliases`` included."""

    def add_service(self, service_id: str, fields: Mapping[str, Any]) -> None:
        """Append a new entry; ``fields`` in project-format keys, defaults left out."""

    def remove_service(self, service_id: str) -> None:
        """Delete the entry (not the edges pointing at it)."""

    def add_dependency(self, caller: str, callee: str) -> None:
        """Record that ``caller`` depends on ``callee``."""

    def remove_dependency(self, caller: str, callee: str) -> None:
        """Forget that ``caller`` depends on ``callee`` (every occurrence)."""

    def add_alias(self, service_id: str, alias: str) -> None:
        """Give a service one more alias."""

    def set_field(self, service_id: str, key: str, value: object) -> None:
        """Set a plain attribute (team, tier, ...), added where the field order puts it."""

    def remove_alias(self, service_id: str, alias: str) -> None:
        """Take an alias away from a service."""

    def dump(self) -> str:
        """The whole document as text, in its original format."""


def open_document(text: str, source: str) -> Document:
    """Parse a topology file for editing, recognising the format from the content.

    The text is first parsed with the strict, bounded reader (syntax, nesting,
    duplicate keys), so the round-trip parser never sees a hostile document.

    Raises:
        TopologyError: the text is not a JSON or YAML mapping of a known shape.
    """
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and "nodes" in data:
            return JsonDocument(data, source)
    plain = load_yaml(text, source)
    if not isinstance(plain, dict) or "services" not in plain:
        raise TopologyError(
            [
                f"{source}: top level: cannot edit: expected a project YAML file with a "
                "'services' key or node-link JSON with a 'nodes' key"
            ],
            source=source,
        )
    return YamlDocument(text, source)


def _names(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


class YamlDocument:
    """Project YAML edited in ruamel.yaml round-trip mode; list or mapping style."""

    def __init__(self, text: str, source: str) -> None:
        self._source = source
        try:
            _, indent, offset = load_yaml_guess_indent(text)
            self._yaml = YAML(typ="rt")
            self._yaml.preserve_quotes = True
            self._yaml.width = 4096  # never re-wrap long lines a person wrote
            mapping = indent or 2
            if offset is None:
                self._yaml.indent(mapping=mapping, sequence=mapping + 2, offset=2)
            else:
                self._yaml.indent(mapping=mapping, sequence=max(mapping, offset + 2), offset=offset)
            self._data: CommentedMap = self._yaml.load(text)
        except YAMLError as exc:
            raise TopologyError([f"{source}: not editable YAML: {exc}"], source=source) from None
        self._services = self._data["services"]
        if not isinstance(self._services, CommentedMap | CommentedSeq):
            raise TopologyError(
                [f"{source}: top level: services must be a list or a mapping to edit it"],
                source=source,
            )

    def _mapping_style(self) -> bool:
        return isinstance(self._services, CommentedMap)

    def _entry(self, service_id: str, *, create: bool = False) -> MutableMapping[str, Any]:
        if self._mapping_style():
            if service_id not in self._services:
                raise KeyError(service_id)
            entry = self._services[service_id]
            if entry is None:  # `cart:` with nothing under it
                if not create:
                    return CommentedMap()
                entry = self._services[service_id] = CommentedMap()
            if isinstance(entry, MutableMapping):
                return entry
            raise KeyError(service_id)
        for entry in self._services:
            if isinstance(entry, MutableMapping) and entry.get("id") == service_id:
                return entry
        raise KeyError(service_id)

    def ids(self) -> list[str]:
        if self._mapping_style():
            return [key for key in self._services if isinstance(key, str)]
        return [
            entry["id"]
            for entry in self._services
            if isinstance(entry, Mapping) and isinstance(entry.get("id"), str)
        ]

    def fields(self, service_id: str) -> dict[str, Any]:
        entry = self._entry(service_id)
        plain = {str(k): _plain(v) for k, v in entry.items()}
        plain["id"] = service_id
        return plain

    def add_service(self, service_id: str, fields: Mapping[str, Any]) -> None:
        entry = CommentedMap()
        if not self._mapping_style():
            entry["id"] = service_id
        for key in _FIELD_ORDER:
            if key in fields and key != "id":
                entry[key] = _flow(fields[key])
        if self._mapping_style():
            self._services[service_id] = entry if entry else None
        else:
            self._services.append(entry)

    def remove_service(self, service_id: str) -> None:
        if self._mapping_style():
            del self._services[service_id]
            return
        for index, entry in enumerate(self._services):
            if isinstance(entry, Mapping) and entry.get("id") == service_id:
                del self._services[index]
                return
        raise KeyError(service_id)

    def _names_list(self, service_id: str, key: str) -> MutableSequence[Any]:
        entry = self._entry(service_id, create=True)
        current = entry.get(key)
        if not isinstance(current, MutableSequence):
            current = _flow([])
            _insert_in_order(entry, key, current)
        return current

    def add_dependency(self, caller: str, callee: str) -> None:
        self._names_list(caller, "depends_on").append(callee)

    def remove_dependency(self, caller: str, callee: str) -> None:
        self._remove_name(caller, "depends_on", callee)

    def add_alias(self, service_id: str, alias: str) -> None:
        self._names_list(service_id, "aliases").append(alias)

    def remove_alias(self, service_id: str, alias: str) -> None:
        self._remove_name(service_id, "aliases", alias)

    def set_field(self, service_id: str, key: str, value: object) -> None:
        entry = self._entry(service_id, create=True)
        if key in entry:
            entry[key] = _flow(value)
        else:
            _insert_in_order(entry, key, _flow(value))

    def _remove_name(self, service_id: str, key: str, name: str) -> None:
        entry = self._entry(service_id)
        current = entry.get(key)
        if not isinstance(current, MutableSequence):
            return
        for index in reversed(range(len(current))):
            if current[index] == name:
                del current[index]
        if not current:
            del entry[key]  # an empty list left behind reads like a mistake

    def dump(self) -> str:
        out = io.StringIO()
        self._yaml.dump(self._data, out)
        return out.getvalue()


def _flow(value: Any) -> Any:
    """Lists and mappings a command adds are written inline, as the docs show them."""
    if isinstance(value, list | tuple):
        seq = CommentedSeq(value)
        seq.fa.set_flow_style()
        return seq
    if isinstance(value, Mapping):
        mapping = CommentedMap((k, _flow(v)) for k, v in value.items())
        mapping.fa.set_flow_style()
        return mapping
    return value


def _insert_in_order(entry: MutableMapping[str, Any], key: str, value: Any) -> None:
    """Add ``key`` where the documented field order puts it, keeping other keys in place."""
    if not isinstance(entry, CommentedMap):
        entry[key] = value
        return
    rank = {name: i for i, name in enumerate(_FIELD_ORDER)}
    position = len(entry)
    for index, existing in enumerate(entry):
        if rank.get(existing, len(rank)) > rank[key]:
            position = index
            break
    entry.insert(position, key, value)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class JsonDocument:
    """Node-link JSON edited as ordered dicts; unknown attributes are kept."""

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self._data = data
        self._source = source
        nodes = data.get("nodes")
        if not isinstance(nodes, list):
            raise TopologyError([f"{source}: top level: nodes must be a list"], source=source)
        self._nodes: list[Any] = nodes
        self._links_key = "edges" if "edges" in data else "links"
        links = data.setdefault(self._links_key, [])
        if not isinstance(links, list):
            raise TopologyError(
                [f"{source}: top level: {self._links_key} must be a list"], source=source
            )
        self._links: list[Any] = links
        self._ends = self._end_names()

    def _end_names(self) -> tuple[str, str]:
        for link in self._links:
            if isinstance(link, dict) and "source" in link and "target" in link:
                return "source", "target"
            if isinstance(link, dict) and "from" in link and "to" in link:
                return "from", "to"
        return ("from", "to") if self._links_key == "edges" else ("source", "target")

    def _node(self, service_id: str) -> dict[str, Any]:
        for node in self._nodes:
            if isinstance(node, dict) and node.get("id") == service_id:
                return node
        raise KeyError(service_id)

    def _link_ends(self, link: object) -> tuple[object, object]:
        if not isinstance(link, dict):
            return None, None
        if "source" in link and "target" in link:
            return link["source"], link["target"]
        return link.get("from"), link.get("to")

    def ids(self) -> list[str]:
        return [
            n["id"] for n in self._nodes if isinstance(n, dict) and isinstance(n.get("id"), str)
        ]

    def fields(self, service_id: str) -> dict[str, Any]:
        node = dict(self._node(service_id))
        node["depends_on"] = [
            str(b)
            for link in self._links
            for a, b in [self._link_ends(link)]
            if a == service_id and isinstance(b, str)
        ]
        return node

    def add_service(self, service_id: str, fields: Mapping[str, Any]) -> None:
        node: dict[str, Any] = {"id": service_id, "kind": fields.get("kind", "service")}
        for key in _FIELD_ORDER[2:]:
            if key in fields and key != "depends_on":
                node[key] = fields[key]
        self._nodes.append(node)
        for callee in fields.get("depends_on", ()):
            self.add_dependency(service_id, callee)

    def remove_service(self, service_id: str) -> None:
        self._nodes.remove(self._node(service_id))
        # In YAML the entry carries its own dependencies; here they are links.
        self._links[:] = [link for link in self._links if self._link_ends(link)[0] != service_id]

    def add_dependency(self, caller: str, callee: str) -> None:
        self._node(caller)
        first, second = self._ends
        self._links.append({first: caller, second: callee})

    def remove_dependency(self, caller: str, callee: str) -> None:
        self._links[:] = [link for link in self._links if self._link_ends(link) != (caller, callee)]

    def add_alias(self, service_id: str, alias: str) -> None:
        node = self._node(service_id)
        aliases = node.get("aliases")
        if isinstance(aliases, list):
            aliases.append(alias)
        else:
            node["aliases"] = [alias]

    def set_field(self, service_id: str, key: str, value: object) -> None:
        self._node(service_id)[key] = value

    def remove_alias(self, service_id: str, alias: str) -> None:
        node = self._node(service_id)
        aliases = node.get("aliases")
        if isinstance(aliases, list):
            aliases[:] = [a for a in aliases if a != alias]
            if not aliases:
                del node["aliases"]

    def dump(self) -> str:
        return json.dumps(self._data, indent=2, ensure_ascii=False) + "\n"


def dependency_names(document: Document, service_id: str) -> list[str]:
    """The names ``service_id`` depends on, as written (strings only)."""
    return _names(document.fields(service_id).get("depends_on"))


def alias_names(document: Document, service_id: str) -> list[str]:
    """The aliases of ``service_id``, as written (strings only)."""
    return _names(document.fields(service_id).get("aliases"))
