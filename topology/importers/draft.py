"""The common result of every importer: services found, edges found, and notes.

Other tools' files are messier than ours: names repeat across files, an
alias may equal another service's name, a reference may point at something
the input does not describe. Importers record what they read in a
:class:`Draft`; :meth:`Draft.to_topology` then repairs what can be repaired
safely (every repair is a warning the user sees) and builds a validated
:class:`~topology.graph.Topology`. What cannot be repaired is a
:class:`~topology.errors.TopologyError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from topology.errors import TopologyError
from topology.graph import Topology
from topology.model import SLO, Service, name_problem


@dataclass
class DraftService:
    """A service as an importer saw it; checked only when the draft is finished."""

    id: str
    kind: str = "service"
    team: str | None = None
    tier: str | None = None
    criticality: str | None = None
    aliases: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    slo: SLO | None = None
    origin: str = ""  # where it was read, for warnings ("compose.yaml: service 'cart'")


@dataclass
class Draft:
    """Services in first-seen order, and warnings about the input."""

    source: str
    services: dict[str, DraftService] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    name: str | None = None

    def service(self, service_id: str, origin: str = "") -> DraftService:
        """The draft service with this id, created (kind ``service``) if new."""
        found = self.services.get(service_id)
        if found is None:
            found = self.services[service_id] = DraftService(service_id, origin=origin)
        return found

    def depend(self, caller: str, callee: str) -> None:
        """Record ``caller -> callee`` once; both must already be draft services."""
        deps = self.services[caller].depends_on
        if callee != caller and callee not in deps:
            deps.append(callee)

    def warn(self, message: str) -> None:
        """Note something the user should know about the import."""
        self.warnings.append(message)

    def to_topology(self) -> Topology:
        """Repair and validate; raise TopologyError listing what could not be repaired."""
        problems = [
            f"{s.origin or self.source}: id {problem}"
            for s in self.services.values()
            if (problem := name_problem(s.id)) is not None
        ]
        if problems:
            raise TopologyError(problems, source=self.source)
        self._drop_bad_aliases()
        services: list[Service] = []
        for draft in sorted(self.services.values(), key=lambda s: s.id):
            dangling = [d for d in draft.depends_on if d not in self.services]
            for target in dangling:
                self.warn(f"{draft.origin or draft.id}: dependency {target!r} is unknown; dropped")
            try:
                services.append(
                    Service(
                        id=draft.id,
                        kind=draft.kind,
                        team=draft.team,
                        tier=draft.tier,
                        criticality=draft.criticality,
                        aliases=tuple(draft.aliases),
                        depends_on=tuple(d for d in draft.depends_on if d in self.services),
                        slo=draft.slo,
                    )
                )
            except TopologyError as exc:
                origin = draft.origin or self.source
                problems += [f"{origin}: {p.removeprefix('<memory>: ')}" for p in exc.problems]
        if problems:
            raise TopologyError(problems, source=self.source)
        return Topology.from_services(services, source=self.source, name=self.name)

    def _drop_bad_aliases(self) -> None:
        """Aliases must not be ids, empty, or shared: keep the first owner, warn about the rest."""
        owner: dict[str, str] = {}
        for draft in self.services.values():
            kept: list[str] = []
            for alias in draft.aliases:
                if name_problem(alias) is not None or alias == draft.id or alias in kept:
                    continue
                if alias in self.services:
                    self.warn(
                        f"{draft.origin or draft.id}: alias {alias!r} is the name of another "
                        "service; dropped"
                    )
                elif alias in owner:
                    self.warn(
                        f"{draft.origin or draft.id}: alias {alias!r} is already an alias of "
                        f"{owner[alias]!r}; dropped"
                    )
                else:
                    owner[alias] = draft.id
                    kept.append(alias)
            draft.aliases = kept
