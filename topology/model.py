"""The service value type and the vocabulary it is checked against.

A :class:`Service` is the unit the rest of Correlator reasons about: one node of
the call graph. It is a frozen value so a loaded topology can be shared between
threads and stream tasks without copying. Its ``__post_init__`` rejects values
that would make the graph meaningless (unknown kind, empty id), so a
``Service`` that exists is always well-formed.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable
from dataclasses import dataclass

from topology.errors import TopologyError

SERVICE_KINDS: tuple[str, ...] = ("service", "database", "cache", "queue", "gateway")
"""Every allowed ``kind``; the root-cause ranking treats data stores differently."""

CRITICALITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
"""Every allowed ``criticality``, most important first."""

SLO_SEVERITIES: tuple[str, ...] = ("critical", "error", "warning", "info")
"""Alert severities an SLO may count as "bad", most urgent first (Correlator's severities)."""

DEFAULT_SLO_WINDOW_SECONDS = 28 * 24 * 3600
"""An SLO's default compliance window: 28 days (four whole weeks)."""

DEFAULT_SLO_SEVERITIES: tuple[str, ...] = ("critical", "error")
"""Severities an SLO counts when the file does not say."""


_KIND_SET = frozenset(SERVICE_KINDS)
_CRITICALITY_SET = frozenset(CRITICALITIES)


def is_name(value: object) -> bool:
    """True if ``value`` is usable as a service id, alias or reference (fast check)."""
    return type(value) is str and value != "" and value == value.strip()


def name_problem(value: object) -> str | None:
    """Say what is wrong with ``value`` as a service id, alias or reference, or None.

    Whitespace around a name is rejected rather than stripped: alerts carry
    the name verbatim, and a silently trimmed id would never match them.
    """
    if is_name(value):
        return None
    if not isinstance(value, str):
        return f"must be a string, got {describe(value)}"
    if not value:
        return "must not be empty"
    if value != value.strip():
        return f"{value!r} has leading or trailing whitespace"
    return None


def choice_problem(value: object, allowed: tuple[str, ...]) -> str | None:
    """Say what is wrong with ``value`` as one of ``allowed``, or None."""
    if isinstance(value, str) and value in allowed:
        return None
    return f"must be one of {', '.join(allowed)}; got {describe(value)}"


def describe(value: object) -> str:
    """Render a bad value briefly for an error message (type and a short repr).

    Bounded in time as well as length: a YAML alias bomb builds a small
    object graph whose full repr would be astronomically long.
    """
    if value is None:
        return "null"
    text = _SHORT.repr(value)
    if isinstance(value, str):
        return text
    return f"{type(value).__name__} {text}"


_SHORT = reprlib.Repr()
_SHORT.maxlevel = 2
_SHORT.maxstring = 60
_SHORT.maxother = 60
for _limit in ("maxlist", "maxtuple", "maxdict", "maxset", "maxfrozenset"):
    setattr(_SHORT, _limit, 4)


@dataclass(frozen=True, slots=True)
class SLO:
    """A service level objective: the share of time a service should be healthy.

    ``objective`` is a percentage strictly between 0 and 100 (``99.9``);
    ``window_seconds`` the rolling compliance window; ``severities`` which
    alert severities count against the objective. Severities are kept in
    :data:`SLO_SEVERITIES` order so equal objectives are equal values (and
    hash to the same topology version) however a file lists them.
    """

    objective: float
    window_seconds: int = DEFAULT_SLO_WINDOW_SECONDS
    severities: tuple[str, ...] = DEFAULT_SLO_SEVERITIES

    def __post_init__(self) -> None:
        problems = list(slo_problems(self.objective, self.window_seconds, self.severities))
        if problems:
            raise TopologyError([f"<memory>: slo: {p}" for p in problems], source="<memory>")
        object.__setattr__(self, "objective", float(self.objective))
        rank = {name: index for index, name in enumerate(SLO_SEVERITIES)}
        object.__setattr__(self, "severities", tuple(sorted(self.severities, key=rank.__getitem__)))


def slo_problems(objective: object, window_seconds: object, severities: object) -> Iterable[str]:
    """Every problem with the parts of an :class:`SLO`, worded after the field names."""
    if (
        isinstance(objective, bool)
        or not isinstance(objective, int | float)
        or not 0 < objective < 100  # also false for NaN
    ):
        yield (
            "objective must be a percentage strictly between 0 and 100 (such as 99.9), "
            f"got {describe(objective)}"
        )
    if (
        isinstance(window_seconds, bool)
        or not isinstance(window_seconds, int)
        or window_seconds <= 0
    ):
        yield f"window must be a positive number of seconds, got {describe(window_seconds)}"
    if not isinstance(severities, tuple) or not severities:
        yield f"severities must be a non-empty list, got {describe(severities)}"
        return
    seen: set[object] = set()
    for index, severity in enumerate(severities):
        problem = choice_problem(severity, SLO_SEVERITIES)
        if problem is not None:
            yield f"severities[{index}] {problem}"
        elif severity in seen:
            yield f"severities[{index}] {severity!r} is listed twice"
        seen.add(severity)


@dataclass(frozen=True, slots=True)
class Service:
    """One service (or data store, cache, queue, gateway) in the call graph.

    ``depends_on`` names the ids this service calls; an edge ``A -> B`` means a
    fault in ``B`` shows up as symptoms in ``A``. ``aliases`` are other names
    alerts may use for it (deployment names, old names). ``slo`` is the
    service's optional objective (see :class:`SLO`).
    """

    id: str
    kind: str = "service"
    team: str | None = None
    tier: str | None = None
    criticality: str | None = None
    aliases: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    slo: SLO | None = None

    def __post_init__(self) -> None:
        # Lists are accepted for convenience and frozen, so the value stays hashable.
        object.__setattr__(self, "aliases", _as_tuple(self.aliases))
        object.__setattr__(self, "depends_on", _as_tuple(self.depends_on))
        if not self._well_formed():
            raise TopologyError(list(self._problems()), source="<memory>")

    def _well_formed(self) -> bool:
        # The common case, checked fast: loaders build 100k services at a time.
        return (
            is_name(self.id)
            and type(self.kind) is str
            and self.kind in _KIND_SET
            and (self.criticality is None or type(self.criticality) is str)
            and (self.criticality is None or self.criticality in _CRITICALITY_SET)
            and _optional_text_problem(self.team) is None
            and _optional_text_problem(self.tier) is None
            and type(self.aliases) is tuple
            and all(map(is_name, self.aliases))
            and type(self.depends_on) is tuple
            and all(map(is_name, self.depends_on))
            and (self.slo is None or type(self.slo) is SLO)
        )

    def _problems(self) -> Iterable[str]:
        """Every problem, worded for a person; only called when something is wrong."""
        label = f"service {self.id!r}" if isinstance(self.id, str) else "service"
        checks: list[tuple[str, str | None]] = [
            ("id", name_problem(self.id)),
            ("kind", choice_problem(self.kind, SERVICE_KINDS)),
            ("team", _optional_text_problem(self.team)),
            ("tier", _optional_text_problem(self.tier)),
        ]
        if self.criticality is not None:
            checks.append(("criticality", choice_problem(self.criticality, CRITICALITIES)))
        for field_name in ("aliases", "depends_on"):
            names = getattr(self, field_name)
            if not isinstance(names, tuple):
                checks.append((field_name, f"must be a tuple of strings, got {describe(names)}"))
                continue
            checks += [(f"{field_name}[{i}]", name_problem(n)) for i, n in enumerate(names)]
        slo: object = self.slo  # typed SLO | None, but callers may pass anything
        if slo is not None and not isinstance(slo, SLO):
            checks.append(("slo", f"must be an SLO or None, got {describe(slo)}"))
        for field_name, problem in checks:
            if problem is not None:
                yield f"<memory>: {label}: {field_name} {problem}"


def _as_tuple(value: object) -> object:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, set | frozenset):
        return tuple(sorted(value, key=str))  # sorted: set order must not leak
    return value


def _optional_text_problem(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        return f"must be a non-empty string, got {describe(value)}"
    return None
