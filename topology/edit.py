"""Scripted edits of a topology file: small, checked, and never destructive.

Each operation changes a :class:`~topology.document.Document` in place and
says what it did. :func:`edit_file` wraps one operation in the safe cycle a
CI job or a deployment script needs: read, edit, validate the *result* with
the strict loader, and only then replace the file atomically. An edit that
would leave the file invalid (a dangling dependency, an alias that collides
with an id) is refused and the file is left untouched.

Adding what is already there, or removing what is not, changes nothing and is
not an error, so scripts can run the same edit twice; naming a service that
does not exist is an error, because that is almost always a typo.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from topology.document import Document, alias_names, dependency_names, open_document
from topology.errors import TopologyError
from topology.files import read_text, write_atomic
from topology.graph import Topology
from topology.loader import loads_topology


class EditError(TopologyError):
    """An edit cannot be made; the single problem says why."""

    def __init__(self, problem: str, source: str = "<memory>") -> None:
        super().__init__([problem], source=source)


@dataclass(frozen=True, slots=True)
class EditResult:
    """What an edit did, in one line; ``changed`` is False for a no-op."""

    changed: bool
    message: str


@dataclass(frozen=True, slots=True)
class FileEdit:
    """The outcome of :func:`edit_file`: the edit and the topology now in the file."""

    result: EditResult
    topology: Topology


Operation = Callable[[Document], EditResult]


def edit_file(path: str, operation: Operation) -> FileEdit:
    """Apply ``operation`` to the file at ``path`` if the result is a valid topology.

    Raises:
        TopologyError: the file cannot be read or parsed, the edit is
            impossible, or the result would be invalid (``problems`` says why;
            the file is not touched).
    """
    text = read_text(path)
    document = open_document(text, path)
    result = operation(document)
    if not result.changed:
        return FileEdit(result, loads_topology(text, source=path))
    new_text = document.dump()
    try:
        topology = loads_topology(new_text, source=path)
    except TopologyError as exc:
        raise TopologyError(
            [f"refusing to write {path}: the result would be invalid: {p}" for p in exc.problems],
            source=path,
        ) from None
    write_atomic(path, new_text)
    return FileEdit(result, topology)


def resolve(document: Document, name: str) -> str:
    """The id ``name`` means: an id, else the service that has it as an alias."""
    ids = document.ids()
    if name in ids:
        return name
    owners = [sid for sid in ids if name in alias_names(document, sid)]
    if len(owners) == 1:
        return owners[0]
    known = [*ids, *(a for sid in ids for a in alias_names(document, sid))]
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise EditError(f"unknown service {name!r}{hint}")


def add_service(
    document: Document,
    service_id: str,
    *,
    kind: str | None = None,
    team: str | None = None,
    tier: str | None = None,
    criticality: str | None = None,
    aliases: Iterable[str] = (),
    depends_on: Iterable[str] = (),
) -> EditResult:
    """Append a new service entry; its dependencies may be ids or aliases."""
    if service_id in document.ids():
        raise EditError(f"service {service_id!r} already exists")
    fields: dict[str, object] = {}
    if kind is not None and kind != "service":
        fields["kind"] = kind
    for key, value in (("team", team), ("tier", tier), ("criticality", criticality)):
        if value is not None:
            fields[key] = value
    alias_list = list(dict.fromkeys(aliases))
    if alias_list:
        fields["aliases"] = alias_list
    targets = list(dict.fromkeys(_resolve_target(document, t, service_id) for t in depends_on))
    if targets:
        fields["depends_on"] = targets
    document.add_service(service_id, fields)
    deps = f" depending on {', '.join(targets)}" if targets else ""
    return EditResult(True, f"added service {service_id}{deps}")


def _resolve_target(document: Document, name: str, service_id: str) -> str:
    # A dependency on the service being added is reported by the validator.
    return name if name == service_id else resolve(document, name)


def remove_service(document: Document, name: str, *, force: bool = False) -> EditResult:
    """Remove a service; with dependents only when ``force`` (their edges go too)."""
    service_id = resolve(document, name)
    dependents = [
        sid
        for sid in document.ids()
        if sid != service_id and service_id in dependency_names(document, sid)
    ]
    if dependents and not force:
        raise EditError(
            f"refusing to remove {service_id!r}: it has {_count(dependents, 'dependent')} "
            f"({', '.join(sorted(dependents))}); use --force to remove those dependencies too"
        )
    for caller in dependents:
        document.remove_dependency(caller, service_id)
    document.remove_service(service_id)
    edges = f" and {_count(dependents, 'dependency', 'dependencies')} on it" if dependents else ""
    return EditResult(True, f"removed service {service_id}{edges}")


def add_dependency(document: Document, caller_name: str, callee_name: str) -> EditResult:
    """Record ``caller -> callee``; a no-op when it is already there."""
    caller, callee = resolve(document, caller_name), resolve(document, callee_name)
    if caller == callee:
        raise EditError(f"a service cannot depend on itself ({caller!r})")
    if callee in dependency_names(document, caller):
        return EditResult(False, f"unchanged: {caller} already depends on {callee}")
    document.add_dependency(caller, callee)
    return EditResult(True, f"added dependency {caller} -> {callee}")


def remove_dependency(document: Document, caller_name: str, callee_name: str) -> EditResult:
    """Forget ``caller -> callee``; a no-op when it is not there."""
    caller, callee = resolve(document, caller_name), resolve(document, callee_name)
    if callee not in dependency_names(document, caller):
        return EditResult(False, f"unchanged: {caller} does not depend on {callee}")
    document.remove_dependency(caller, callee)
    return EditResult(True, f"removed dependency {caller} -> {callee}")


def set_alias(document: Document, name: str, alias: str, *, remove: bool = False) -> EditResult:
    """Add (or with ``remove`` take away) an alias of a service."""
    ids = document.ids()
    service_id = name if name in ids else resolve(document, name)
    present = alias in alias_names(document, service_id)
    if remove:
        if not present:
            return EditResult(False, f"unchanged: {service_id} has no alias {alias}")
        document.remove_alias(service_id, alias)
        return EditResult(True, f"removed alias {alias} of {service_id}")
    if present:
        return EditResult(False, f"unchanged: {alias} is already an alias of {service_id}")
    document.add_alias(service_id, alias)
    return EditResult(True, f"added alias {alias} to {service_id}")


def _count(items: list[str], singular: str, plural: str | None = None) -> str:
    word = singular if len(items) == 1 else (plural or f"{singular}s")
    return f"{len(items)} {word}"
