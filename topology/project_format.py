"""Reader of the project YAML format (documented in :mod:`topology`).

Strict on purpose: a misspelt key such as ``depend_on`` would otherwise
silently drop edges, and a wrong graph produces wrong root causes without any
visible error. Every problem in the document is collected before giving up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from topology.canonical import FORMAT_VERSION
from topology.errors import TopologyError
from topology.fields import SERVICE_FIELDS, read_text, unknown_key_problem
from topology.model import Service, describe, name_problem

TOP_LEVEL_KEYS = frozenset({"version", "name", "services"})
_MAPPING_KEYS = tuple(key for key in SERVICE_FIELDS if key != "id")


@dataclass
class Parsed:
    """What a format reader extracted: well-formed services and every problem.

    ``labels[i]`` names ``services[i]`` as the file does, for later messages.
    """

    services: list[Service] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    name: str | None = None
    problems: list[str] = field(default_factory=list)


def parse_project(document: Mapping[Any, Any], source: str) -> Parsed:
    """Read a project-format document (already parsed from YAML or JSON)."""
    parsed = Parsed()
    top = f"{source}: top level"
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            parsed.problems.append(f"{top}: {unknown_key_problem(key, TOP_LEVEL_KEYS)}")
    version = document.get("version", FORMAT_VERSION)
    if isinstance(version, bool) or version != FORMAT_VERSION:
        parsed.problems.append(f"{top}: version must be {FORMAT_VERSION}, got {describe(version)}")
    name, name_problems = read_text("name", document.get("name"))
    parsed.name = name if isinstance(name, str) else None
    parsed.problems += [f"{top}: {p}" for p in name_problems]
    if "services" not in document:
        parsed.problems.append(f"{top}: missing required key 'services'")
        return parsed
    services = document["services"]
    if isinstance(services, list):
        for index, entry in enumerate(services):
            _read_list_entry(index, entry, source, parsed)
    elif isinstance(services, dict):
        for key, entry in services.items():
            _read_mapping_entry(key, entry, source, parsed)
    else:
        parsed.problems.append(
            f"{top}: services must be a list of service entries or a mapping of id to "
            f"entry, got {describe(services)}"
        )
    return parsed


def _read_list_entry(index: int, entry: object, source: str, parsed: Parsed) -> None:
    where = f"services[{index}]"
    if not isinstance(entry, dict):
        parsed.problems.append(
            f"{source}: {where}: expected a mapping with at least an 'id' key, "
            f"got {describe(entry)}"
        )
        return
    raw_id = entry.get("id")
    label = f"service {raw_id!r} ({where})" if name_problem(raw_id) is None else where
    if "id" not in entry:
        parsed.problems.append(f"{source}: {where}: missing required key 'id'")
    _read_fields(label, entry, source, parsed, tuple(SERVICE_FIELDS))


def _read_mapping_entry(key: object, entry: object, source: str, parsed: Parsed) -> None:
    label = f"service {key!r}"
    if entry is None:  # `redis:` with nothing under it: all defaults
        entry = {}
    if not isinstance(entry, dict):
        parsed.problems.append(
            f"{source}: {label}: expected a mapping of fields (or nothing), got {describe(entry)}"
        )
        return
    if "id" in entry:
        parsed.problems.append(
            f"{source}: {label}: unknown key 'id' (in the mapping style the key above "
            f"is the id); allowed keys: {', '.join(sorted(_MAPPING_KEYS))}"
        )
    _read_fields(label, {**entry, "id": key}, source, parsed, _MAPPING_KEYS)


def _read_fields(
    label: str, entry: Mapping[Any, Any], source: str, parsed: Parsed, listed: tuple[str, ...]
) -> None:
    """Check every key of one entry and, if the id is usable, keep the service.

    ``listed`` is what an unknown-key message offers as the allowed keys.
    """
    problems: list[str] = []
    clean: dict[str, Any] = {}
    for key, raw in entry.items():
        reader = SERVICE_FIELDS.get(key) if isinstance(key, str) else None
        if reader is None:
            problems.append(unknown_key_problem(key, listed))
            continue
        value, found = reader(key, raw)
        problems += found
        if not found or key in ("aliases", "depends_on"):
            clean[key] = value
    parsed.problems += [f"{source}: {label}: {p}" for p in problems]
    if "id" not in clean:
        return
    try:
        service = Service(**clean)
    except TopologyError as exc:  # readers should make this impossible; never crash
        parsed.problems += [f"{source}: {label}: {p}" for p in exc.problems]
        return
    parsed.services.append(service)
    parsed.labels.append(label)
