"""Turn a file or a byte string into a :class:`~topology.graph.Topology`.

This is the trust boundary: input may come from a hand-edited file or a Kafka
topic, so it is size-limited before parsing, parsed with a safe YAML loader
(which never builds arbitrary objects), and every way it can be wrong ends in
one :class:`~topology.errors.TopologyError`, never another exception.
The format is recognised from the content, not the file name.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from typing import Any

from topology.errors import TopologyError
from topology.graph import Topology, assemble
from topology.model import describe
from topology.nodelink import parse_node_link
from topology.project_format import TOP_LEVEL_KEYS, parse_project
from topology.safe_yaml import load_yaml

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
"""Largest topology document accepted, checked before parsing."""


def load_topology(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Topology:
    """Load a topology file (project YAML or node-link JSON, auto-detected).

    Raises:
        TopologyError: the file is missing, unreadable, too large, not YAML or
            JSON, or not a valid topology; ``problems`` lists every problem.
    """
    source = os.fspath(path)
    try:
        data = _read_limited(source, max_bytes)
    except OSError as exc:
        raise TopologyError([f"{source}: {_os_problem(exc)}"], source=source) from None
    return loads_topology(data, source=source, max_bytes=max_bytes)


def loads_topology(
    text: str | bytes, *, source: str = "<string>", max_bytes: int = DEFAULT_MAX_BYTES
) -> Topology:
    """Load a topology from memory, e.g. a record value read from Kafka."""
    document = _parse(_decode(text, source, max_bytes), source)
    if "services" in document or ("nodes" not in document and TOP_LEVEL_KEYS & document.keys()):
        parsed = parse_project(document, source)
    elif "nodes" in document:
        parsed = parse_node_link(document, source)
    else:
        keys = ", ".join(sorted(repr(k) for k in document)) or "none"
        raise TopologyError(
            [
                f"{source}: top level: not a topology: expected a 'services' key (project "
                f"YAML) or a 'nodes' key (node-link JSON); found keys: {keys}"
            ],
            source=source,
        )
    return assemble(
        parsed.services, parsed.labels, source=source, name=parsed.name, problems=parsed.problems
    )


def _read_limited(path: str, max_bytes: int) -> bytes:
    info = os.stat(path)
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(path)
    with open(path, "rb") as handle:
        # Read one byte past the limit: files that grow or lie about their size
        # (pipes, /proc) are caught too, without reading them whole.
        return handle.read(max_bytes + 1)


def _os_problem(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read: {exc.strerror or exc}"


def _decode(text: str | bytes, source: str, max_bytes: int) -> str:
    if isinstance(text, str):
        try:
            text = text.encode("utf-8")  # the size limit is in bytes, as for files
        except UnicodeEncodeError as exc:
            raise TopologyError(
                [f"{source}: not valid Unicode text (lone surrogate at index {exc.start})"],
                source=source,
            ) from None
    if len(text) > max_bytes:
        raise TopologyError(
            [f"{source}: too large: more than {max_bytes} bytes (the limit)"], source=source
        )
    try:
        return text.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TopologyError(
            [f"{source}: not UTF-8 text (invalid byte at offset {exc.start})"], source=source
        ) from None


def _parse(text: str, source: str) -> Mapping[Any, Any]:
    if not text.strip():
        raise TopologyError([f"{source}: file is empty"], source=source)
    document: object
    if text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except RecursionError:
            raise TopologyError(
                [f"{source}: not valid JSON: nested too deeply"], source=source
            ) from None
        except ValueError as json_error:
            # A YAML flow mapping also starts with "{": give YAML its chance,
            # but report the JSON error, which is what such a file meant to be.
            try:
                document = load_yaml(text, source)
            except TopologyError:
                raise TopologyError(
                    [f"{source}: not valid JSON: {_json_message(json_error)}"], source=source
                ) from None
    else:
        document = load_yaml(text, source)
    if document is None:
        raise TopologyError([f"{source}: file is empty (no YAML document)"], source=source)
    if not isinstance(document, dict):
        raise TopologyError(
            [
                f"{source}: top level: expected a mapping with a 'services' key, "
                f"got {describe(document)}"
            ],
            source=source,
        )
    return document


def _json_message(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
    return str(exc)
