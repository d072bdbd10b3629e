"""Read one YAML document safely: plain values only, bounded, strict about keys.

This is ``yaml.safe_load`` with three guards a topology arriving from a file
or a Kafka topic needs, and nothing else changed:

* The node tree is composed here, iteratively, from the safe parser's event
  stream, with a nesting limit. PyYAML's own composer recurses once per level
  and the libyaml-backed one can crash the interpreter on a few kilobytes of
  ``[[[[...``; a topology never nests deeper than five levels.
* A mapping that repeats a key is an error. PyYAML keeps the last one, which
  would silently merge two services written with the same id.
* Errors raised while building values (a date such as ``2024-13-45``) are
  reported like syntax errors instead of escaping as ``ValueError``.

Values are then built by PyYAML's ``SafeConstructor`` (the libyaml-backed
``CSafeLoader`` when available: as safe, and much faster on large files), so
no tag can create arbitrary Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from topology.errors import TopologyError

MAX_NESTING = 64
"""Deepest collection nesting accepted in a document."""

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class _Open:
    """A collection whose end event has not been seen yet."""

    node: yaml.CollectionNode
    key: yaml.Node | None = None  # mappings: the key waiting for its value
    lines: dict[tuple[str, str], int] = field(default_factory=dict)  # scalar key -> its line


def load_yaml(text: str, source: str) -> object:
    """Parse ``text`` as one YAML document of plain values (None if empty).

    Raises:
        TopologyError: syntax errors, several documents, duplicate keys,
            nesting deeper than :data:`MAX_NESTING`, unconstructible values.
    """
    loader = _SafeLoader(text)
    try:
        node = _compose(loader, source)
        return None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _error(source, f"not valid YAML: {_yaml_message(exc)}") from None
    except TopologyError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        raise _error(source, f"not valid YAML: cannot read a value: {exc}") from None
    finally:
        loader.dispose()


def load_yaml_documents(text: str, source: str) -> list[object]:
    """Parse every document of a multi-document stream (``---`` separated), with
    the same guards as :func:`load_yaml`; empty documents are left out.

    Other tools' files (Backstage catalogs) put many entities in one file.

    Raises:
        TopologyError: as :func:`load_yaml`, naming the document's first line.
    """
    loader = _SafeLoader(text)
    documents: list[object] = []
    try:
        loader.get_event()  # stream start
        while not loader.check_event(yaml.StreamEndEvent):
            loader.get_event()  # document start
            node = _compose_document(loader, source)
            if node is not None:
                value = loader.construct_document(node)
                if value is not None:
                    documents.append(value)
        return documents
    except yaml.YAMLError as exc:
        raise _error(source, f"not valid YAML: {_yaml_message(exc)}") from None
    except TopologyError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        raise _error(source, f"not valid YAML: cannot read a value: {exc}") from None
    finally:
        loader.dispose()


def _compose(loader: Any, source: str) -> yaml.Node | None:
    loader.get_event()  # stream start
    if loader.check_event(yaml.StreamEndEvent):
        return None
    loader.get_event()  # document start
    node = _compose_document(loader, source)
    if not loader.check_event(yaml.StreamEndEvent):
        extra = loader.get_event()
        raise yaml.composer.ComposerError(
            "expected a single document in the stream",
            node.start_mark if node is not None else None,
            "but found another document",
            extra.start_mark,
        )
    loader.get_event()  # stream end
    return node


def _compose_document(loader: Any, source: str) -> yaml.Node | None:
    """Compose one document; the document start event has been read."""
    anchors: dict[str, yaml.Node] = {}
    stack: list[_Open] = []
    root: list[yaml.Node] = []
    duplicates: list[tuple[int, str]] = []
    get_event = loader.get_event
    while True:
        event = get_event()
        if isinstance(event, yaml.DocumentEndEvent):
            break
        if isinstance(event, yaml.CollectionEndEvent):
            finished = stack.pop().node
            finished.end_mark = event.end_mark
            _attach(finished, stack, root, duplicates, source)
            continue
        node = _node_for(event, loader, anchors)
        if isinstance(node, yaml.CollectionNode) and not isinstance(event, yaml.AliasEvent):
            stack.append(_Open(node))
            if len(stack) > MAX_NESTING:
                raise _error(
                    source,
                    f"line {event.start_mark.line + 1}: nested more than {MAX_NESTING} "
                    "levels deep; a topology needs at most five",
                )
        else:
            _attach(node, stack, root, duplicates, source)
    if duplicates:  # found as mappings close (inner first): report in file order
        raise TopologyError([text for _, text in sorted(duplicates)], source=source)
    return root[0] if root else None


def _node_for(event: Any, loader: Any, anchors: dict[str, yaml.Node]) -> yaml.Node:
    """Make the node an event opens (or names, for an alias), as PyYAML's composer does."""
    start: Any = event.start_mark  # libyaml's marks are typed apart from PyYAML's
    end: Any = event.end_mark
    if isinstance(event, yaml.AliasEvent):
        if event.anchor not in anchors:
            raise yaml.composer.ComposerError(
                None, None, f"found undefined alias {event.anchor!r}", start
            )
        return anchors[event.anchor]
    node: yaml.Node
    if isinstance(event, yaml.ScalarEvent):
        tag = _tag(event, loader, yaml.ScalarNode, event.value)
        node = yaml.ScalarNode(tag, event.value, start, end, event.style)
    elif isinstance(event, yaml.SequenceStartEvent):
        tag = _tag(event, loader, yaml.SequenceNode, None)
        node = yaml.SequenceNode(tag, [], start, None, event.flow_style)
    elif isinstance(event, yaml.MappingStartEvent):
        tag = _tag(event, loader, yaml.MappingNode, None)
        node = yaml.MappingNode(tag, [], start, None, event.flow_style)
    else:  # pragma: no cover - the parser emits no other event inside a document
        raise yaml.composer.ComposerError(None, None, f"unexpected {event}", start)
    if event.anchor is not None:
        if event.anchor in anchors:
            raise yaml.composer.ComposerError(
                f"found duplicate anchor {event.anchor!r}; first occurrence",
                anchors[event.anchor].start_mark,
                "second occurrence",
                start,
            )
        anchors[event.anchor] = node
    return node


def _tag(event: Any, loader: Any, kind: type[yaml.Node], value: str | None) -> str:
    if event.tag is None or event.tag == "!":
        resolved: str = loader.resolve(kind, value, event.implicit)
        return resolved
    tag: str = event.tag
    return tag


def _attach(
    node: yaml.Node,
    stack: list[_Open],
    root: list[yaml.Node],
    duplicates: list[tuple[int, str]],
    source: str,
) -> None:
    if not stack:
        root.append(node)
        return
    parent = stack[-1]
    if isinstance(parent.node, yaml.SequenceNode):
        parent.node.value.append(node)
    elif parent.key is None:
        parent.key = node
    else:
        _check_key(parent, duplicates, source)
        parent.node.value.append((parent.key, node))
        parent.key = None


def _check_key(parent: _Open, duplicates: list[tuple[int, str]], source: str) -> None:
    key = parent.key
    if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE_TAG:
        return
    line = key.start_mark.line + 1
    first = parent.lines.get((key.tag, key.value))
    if first is None:
        parent.lines[(key.tag, key.value)] = line
    else:
        duplicates.append(
            (
                line,
                f"{source}: line {line}: duplicate key {key.value!r} (first used on line {first})",
            )
        )


def _yaml_message(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context = f" ({exc.context})" if exc.context else ""
        return f"{where}{exc.problem}{context}"
    return " ".join(str(exc).split())


def _error(source: str, problem: str) -> TopologyError:
    return TopologyError([f"{source}: {problem}"], source=source)
