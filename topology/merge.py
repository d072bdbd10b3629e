"""Merge an imported topology into a hand-maintained file without undoing the hand work.

Imports are refreshed often (a nightly job reading trace metrics), while the
file they feed is curated: someone set the kind of a cache, the team, the
criticality, an SLO, aliases, and wrote comments. A merge therefore only
*adds*: services the file does not know yet (with the imported attributes),
edges it does not have, and ``team``, ``tier`` or ``criticality`` where an
existing entry leaves them unset. Attributes that are written keep their
value (differences are reported, not applied); ``kind`` is never changed,
since leaving it out means ``service``. Nothing is removed: a call that was
not seen in one night of traces is not evidence that it no longer exists.

Imported names are matched to the file by id or alias, so an importer that
sees ``cart-svc`` adds edges to the ``cart`` entry that lists that alias.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from topology.document import Document, alias_names, dependency_names
from topology.graph import Topology

_COMPARED = ("kind", "team", "tier", "criticality")


@dataclass
class MergeReport:
    """What a merge added, and what it deliberately left alone."""

    services_added: list[str] = field(default_factory=list)
    edges_added: list[tuple[str, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # attribute differences not applied
    filled: list[str] = field(default_factory=list)  # unset attributes taken from the import
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the terminal."""
        return (
            f"merged: {len(self.services_added)} services added, {len(self.edges_added)} "
            f"dependencies added, {len(self.filled)} unset attributes filled, "
            f"{len(self.kept)} differing attributes kept as written"
        )


def merge_into(document: Document, imported: Topology) -> MergeReport:
    """Add ``imported``'s new services and edges to ``document`` (changed in place)."""
    report = MergeReport()
    names = _name_table(document)
    mapping: dict[str, str] = {}
    for service in imported.services.values():
        match = names.get(service.id) or next(
            (names[a] for a in sorted(service.aliases) if a in names), None
        )
        if match is not None:
            mapping[service.id] = match
            _compare(document, match, imported, service.id, report)
            continue
        aliases = [a for a in sorted(service.aliases) if a not in names]
        if len(aliases) < len(service.aliases):
            report.notes.append(f"{service.id}: aliases already used in the file were left out")
        fields: dict[str, object] = {
            key: getattr(service, key) for key in _COMPARED if getattr(service, key) is not None
        }
        if fields.get("kind") == "service":
            del fields["kind"]
        if aliases:
            fields["aliases"] = aliases
        document.add_service(service.id, fields)
        report.services_added.append(service.id)
        mapping[service.id] = service.id
        names[service.id] = service.id
        names.update(dict.fromkeys(aliases, service.id))
    for caller in imported:
        for callee in sorted(imported.dependencies(caller)):
            a, b = mapping[caller], mapping[callee]
            if a == b:
                report.notes.append(f"{caller} -> {callee}: both are {a!r} in the file; skipped")
            elif b not in dependency_names(document, a):
                document.add_dependency(a, b)
                report.edges_added.append((a, b))
    return report


def _name_table(document: Document) -> dict[str, str]:
    names: dict[str, str] = {}
    for sid in document.ids():
        for alias in alias_names(document, sid):
            names.setdefault(alias, sid)
    names.update({sid: sid for sid in document.ids()})
    return names


def _compare(
    document: Document, existing: str, imported: Topology, imported_id: str, report: MergeReport
) -> None:
    written = document.fields(existing)
    service = imported.service(imported_id)
    for key in _COMPARED:
        theirs = getattr(service, key)
        ours = written.get(key, "service" if key == "kind" else None)
        if theirs is None or theirs == ours or (key == "kind" and theirs == "service"):
            continue
        if ours is None and key != "kind":
            document.set_field(existing, key, theirs)
            report.filled.append(f"{existing}: {key} set to {theirs!r} (unset in the file)")
        else:
            report.kept.append(f"{existing}: {key} {ours!r} kept (import says {theirs!r})")
