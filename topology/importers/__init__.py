"""Build a topology from what other tools already know about the system.

Nobody should have to write a topology of hundreds of services by hand: the
dependencies are already written down in a Backstage catalog, in
docker-compose files, or measured by tracing (OpenTelemetry service-graph
metrics). Each importer reads one such source into a
:class:`~topology.importers.draft.Draft`; :func:`import_files` reads the files
and returns the validated topology plus warnings about anything it repaired.

Sources: ``backstage`` (:mod:`.backstage`), ``compose`` (:mod:`.compose`),
``otel`` (:mod:`.otel`), ``nodelink`` (:mod:`.nodelink`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from topology.files import read_text
from topology.graph import Topology
from topology.importers.backstage import import_backstage
from topology.importers.compose import import_compose
from topology.importers.draft import Draft, DraftService
from topology.importers.nodelink import import_nodelink
from topology.importers.otel import import_otel

SOURCES: tuple[str, ...] = ("backstage", "compose", "otel", "nodelink")
"""Every ``--from`` value."""


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """Importer switches; each importer uses the ones that concern it."""

    infer_env_links: bool = False  # compose
    min_count: float = 1.0  # otel
    min_rate: float | None = None  # otel, needs two timestamped scrapes


@dataclass(frozen=True, slots=True)
class Imported:
    """A validated imported topology and what the user should know about it."""

    topology: Topology
    warnings: tuple[str, ...]


def import_texts(
    source: str, texts: Sequence[tuple[str, str]], options: ImportOptions | None = None
) -> Imported:
    """Import ``(name, text)`` pairs of the given source kind.

    Raises:
        TopologyError: unreadable input or a result that cannot be a topology.
        ValueError: ``source`` is not one of :data:`SOURCES`.
    """
    chosen = options or ImportOptions()
    draft: Draft
    if source == "backstage":
        draft = import_backstage(texts)
    elif source == "compose":
        draft = import_compose(texts, infer_env_links=chosen.infer_env_links)
    elif source == "otel":
        draft = import_otel(texts, min_count=chosen.min_count, min_rate=chosen.min_rate)
    elif source == "nodelink":
        draft = import_nodelink(texts)
    else:
        raise ValueError(f"unknown import source {source!r}; choose from {', '.join(SOURCES)}")
    topology = draft.to_topology()
    return Imported(topology, tuple(draft.warnings))


def import_files(
    source: str, paths: Sequence[str], options: ImportOptions | None = None
) -> Imported:
    """Read the files (size-limited, UTF-8) and import them; see :func:`import_texts`."""
    return import_texts(source, [(path, read_text(path)) for path in paths], options)


__all__ = [
    "SOURCES",
    "Draft",
    "DraftService",
    "ImportOptions",
    "Imported",
    "import_files",
    "import_texts",
]
