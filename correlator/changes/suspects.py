"""Suspect changes: which recent changes probably caused (or fixed) an incident.

A pure function of an incident's scope and the changes near it in time.

Who is a suspect. A change is considered when it lands in the *lookback*
before the incident's first alert (up to ``grace`` after it, for rollouts
reported on completion and skewed clocks) on:

1. the probable root-cause service (relation ``root_cause``),
2. a service the root cause depends on, within ``dependency_hops``
   (``dependency``: a change to something that did not alert itself),
3. another ranked root-cause candidate (``candidate``),
4. any other service of the incident (``member``),
5. a direct dependency of a service of the incident that is not in the
   incident itself (``member_dependency``: when a fault's own alerts were
   grouped elsewhere, or never fired, its symptoms still point at it);

or when it lands after that, up to the incident's horizon (``resolved_at``,
else ``updated_at``), on any service of the incident (``after_open``: a
rollback that fixed it, or a deploy that made it worse).

Score = relation weight x proximity x kind weight, rounded to 4 decimals:

* relation: root_cause 1.0, dependency 0.7 (x 0.75 per extra hop),
  candidate 0.6, member 0.4, member_dependency 0.35, after_open 0.3;
* proximity: 1.0 for a change inside the grace period, else
  ``0.5 ** (distance / half_life)`` where distance is the time between the
  change and the first alert (or, for after_open, the time after it);
* kind: deploy 1.0, config 0.9, rollback 0.8, flag 0.7. Deploys and config
  pushes change what runs everywhere at once; a rollback returns to a state
  that used to work; a flag usually changes one code path for a share of
  traffic.

Ties break on the smaller distance to the first alert, then the change id,
so the order never depends on arrival order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from correlator.changes.config import ChangesConfig
from correlator.changes.model import Change, ChangeKind
from correlator.codecs.timefmt import format_rfc3339

__all__ = [
    "KIND_WEIGHT",
    "RELATION_WEIGHT",
    "IncidentScope",
    "Relation",
    "ResolvedChange",
    "Suspect",
    "rank_suspects",
]


class Relation(StrEnum):
    """How a changed service relates to the incident."""

    ROOT_CAUSE = "root_cause"
    DEPENDENCY = "dependency"
    CANDIDATE = "candidate"
    MEMBER = "member"
    MEMBER_DEPENDENCY = "member_dependency"
    AFTER_OPEN = "after_open"


RELATION_WEIGHT: Mapping[Relation, float] = {
    Relation.ROOT_CAUSE: 1.0,
    Relation.DEPENDENCY: 0.7,
    Relation.CANDIDATE: 0.6,
    Relation.MEMBER: 0.4,
    Relation.MEMBER_DEPENDENCY: 0.35,
    Relation.AFTER_OPEN: 0.3,
}
DEPENDENCY_HOP_DECAY = 0.75
KIND_WEIGHT: Mapping[ChangeKind, float] = {
    ChangeKind.DEPLOY: 1.0,
    ChangeKind.CONFIG: 0.9,
    ChangeKind.ROLLBACK: 0.8,
    ChangeKind.FLAG: 0.7,
}
_VERB = {
    ChangeKind.DEPLOY: ("deployed", "was deployed"),
    ChangeKind.CONFIG: ("config_changed", "had a config change"),
    ChangeKind.FLAG: ("flag_changed", "had a feature flag change"),
    ChangeKind.ROLLBACK: ("rolled_back", "was rolled back"),
}


@dataclass(frozen=True, slots=True)
class ResolvedChange:
    """A change and the service key it resolved to (topology id, else the raw name)."""

    service: str
    change: Change


@dataclass(frozen=True, slots=True)
class IncidentScope:
    """What the ranking needs to know about one incident.

    ``dependencies`` maps each service the root cause depends on (within the
    configured hops, root excluded) to its distance. ``members`` are every
    service of the incident, unknown ones by their raw names.
    ``member_dependencies`` maps each direct dependency of a member that is
    not itself a member to the member that calls it (the first by name).
    """

    root: str | None
    candidates: tuple[str, ...]
    members: tuple[str, ...]
    first_alert: datetime
    horizon: datetime
    dependencies: Mapping[str, int] = field(default_factory=dict)
    member_dependencies: Mapping[str, str] = field(default_factory=dict)

    def services(self) -> frozenset[str]:
        """Every service a suspect may be on."""
        found = set(self.candidates) | set(self.members) | set(self.dependencies)
        found |= set(self.member_dependencies)
        if self.root is not None:
            found.add(self.root)
        return frozenset(found)


@dataclass(frozen=True, slots=True)
class Suspect:
    """One ranked suspect change with its machine-readable and human reasons."""

    change: Change
    service: str
    relation: Relation
    minutes_before_first_alert: float
    score: float
    reason: str
    summary: str
    hops: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The published form (``suspect_changes[]`` of an incident event)."""
        change = self.change
        return {
            "change_id": change.id,
            "service": self.service,
            "kind": change.kind.value,
            "version": change.version,
            "at": format_rfc3339(change.at),
            "author": change.author,
            "link": change.link,
            "relation": self.relation.value,
            "minutes_before_first_alert": self.minutes_before_first_alert,
            "score": self.score,
            "reason": self.reason,
            "summary": self.summary,
            "change_summary": change.summary,
        }


def _relation(scope: IncidentScope, service: str, before: bool) -> tuple[Relation, int | None]:
    if not before:
        return Relation.AFTER_OPEN, None
    if service == scope.root:
        return Relation.ROOT_CAUSE, 0
    hops = scope.dependencies.get(service)
    if hops is not None:
        return Relation.DEPENDENCY, hops
    if service in scope.candidates:
        return Relation.CANDIDATE, None
    if service in scope.members:
        return Relation.MEMBER, None
    return Relation.MEMBER_DEPENDENCY, 1


def _whole_minutes(seconds: float) -> int:
    return math.floor(abs(seconds) / 60.0 + 0.5)


def _duration_text(seconds: float) -> str:
    minutes = _whole_minutes(seconds)
    if minutes == 0:
        return "under a minute"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _reason(scope: IncidentScope, service: str, relation: Relation, kind: ChangeKind,
            offset: float) -> str:
    verb = _VERB[kind][0]
    if relation is Relation.AFTER_OPEN:
        who = "root_cause_service" if service == scope.root else "member_service"
        return f"{who}_{verb}_{_whole_minutes(offset)}m_after_incident_opened"
    who = {
        Relation.ROOT_CAUSE: "root_cause_service",
        Relation.DEPENDENCY: "root_cause_dependency",
        Relation.CANDIDATE: "candidate_service",
        Relation.MEMBER: "member_service",
        Relation.MEMBER_DEPENDENCY: "member_dependency",
    }[relation]
    when = "before" if offset >= 0 else "after"
    return f"{who}_{verb}_{_whole_minutes(offset)}m_{when}_first_alert"


def _sentence(scope: IncidentScope, item: ResolvedChange, relation: Relation,
              hops: int | None, offset: float) -> str:
    service, change = item.service, item.change
    subject = {
        Relation.ROOT_CAUSE: f"{service} (the probable root cause)",
        Relation.DEPENDENCY: f"{service}, which the probable root cause {scope.root} depends on"
        + (f" ({hops} hops away)," if hops and hops > 1 else ","),
        Relation.CANDIDATE: f"{service} (root-cause candidate "
        f"#{scope.candidates.index(service) + 1 if service in scope.candidates else 0})",
        Relation.MEMBER: f"{service} (alerting in this incident)",
        Relation.MEMBER_DEPENDENCY: f"{service}, which "
        f"{scope.member_dependencies.get(service, 'a service of this incident')} depends on,",
        Relation.AFTER_OPEN: service,
    }[relation]
    details = [d for d in (
        f"version {change.version}" if change.version else "",
        f"by {change.author}" if change.author else "",
    ) if d]
    what = _VERB[change.kind][1] + (f" ({', '.join(details)})" if details else "")
    if relation is Relation.AFTER_OPEN:
        tail = (" after the incident opened: a possible fix"
                if change.kind is ChangeKind.ROLLBACK
                else " after the incident opened: a possible fix or aggravation")
        return f"{subject} {what} {_duration_text(offset)}{tail}."
    when = "before" if offset >= 0 else "after"
    return f"{subject} {what} {_duration_text(offset)} {when} the first alert."


def rank_suspects(scope: IncidentScope, changes: Iterable[ResolvedChange],
                  config: ChangesConfig) -> tuple[Suspect, ...]:
    """Rank the changes that may explain the incident; best first, at most ``max_suspects``.

    Changes outside the time window or on unrelated services are ignored, so
    the caller may pass a superset.
    """
    first = scope.first_alert
    earliest = first - config.lookback
    latest_before = first + config.grace
    half_life = config.half_life.total_seconds()
    services = scope.services()
    members = set(scope.members) | ({scope.root} if scope.root is not None else set())
    ranked: list[tuple[float, float, str, Suspect]] = []
    seen: set[str] = set()
    for item in changes:
        change, service = item.change, item.service
        if change.id in seen or service not in services or change.at < earliest:
            continue
        before = change.at <= latest_before
        if not before and (change.at > scope.horizon or service not in members):
            continue
        seen.add(change.id)
        relation, hops = _relation(scope, service, before)
        offset = (first - change.at).total_seconds()  # > 0: before the first alert
        distance = offset if before else -offset
        proximity = 1.0 if distance <= 0 else 0.5 ** (distance / half_life)
        weight = RELATION_WEIGHT[relation]
        if relation is Relation.DEPENDENCY and hops is not None and hops > 1:
            weight *= DEPENDENCY_HOP_DECAY ** (hops - 1)
        score = round(weight * proximity * KIND_WEIGHT[change.kind], 4)
        suspect = Suspect(
            change=change,
            service=service,
            relation=relation,
            minutes_before_first_alert=round(offset / 60.0, 1),
            score=score,
            reason=_reason(scope, service, relation, change.kind,
                           offset if before else -offset),
            summary=_sentence(scope, item, relation, hops, offset if before else -offset),
            hops=hops if relation is Relation.DEPENDENCY else None,
        )
        ranked.append((-score, abs(offset), change.id, suspect))
    ranked.sort(key=lambda entry: entry[:3])
    return tuple(entry[3] for entry in ranked[: config.max_suspects])
