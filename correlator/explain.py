"""Explain one incident: which services alert, and how the symptoms reach the root cause.

An incident event already carries its evidence (the dependency paths from
each symptom to the ranked root cause, why each alert joined). This module
turns that evidence, plus the topology around the alerting services, into
something an on-call engineer reads in ten seconds: the root cause at the
top, the services that depend on it below it, as a tree; then every alerting
service with its direct neighbours, marked alerting or quiet. The same
picture can be drawn as an image (see :func:`image_parts`).

Pure: it reads incident dicts (the README's schema) and a topology, returns
lines and values; reading files and Kafka is the command's business
(:mod:`correlator.explain_cli`). Input lines may be plain incident events
(``correlator replay`` output) or CloudEvents whose ``data`` is the event
(``correlator tail --json`` output).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise
from typing import Any, TypeGuard

from correlator.errors import CorrelatorError
from topology import Service, Topology
from topology.render import NodeStyle

ROOT_MARK, ALERT_MARK, QUIET_MARK = "(R)", "(!)", "( )"
MAX_IMAGE_SERVICES = 80
"""Quiet neighbours are left out of images larger than this."""

_COLOURS = {"root": "1;31", "alert": "33", "quiet": "2", "title": "1"}


class ExplainError(CorrelatorError):
    """The incident cannot be found or read."""


@dataclass(frozen=True, slots=True)
class AlertingService:
    """The earliest alert of one service in the incident."""

    service: str
    name: str
    severity: str
    offset_s: float  # from the incident's opening
    alerts: int
    known: bool


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything the text and the image show, computed once."""

    incident: Mapping[str, Any]
    root: str | None
    alerting: Mapping[str, AlertingService]
    paths: tuple[tuple[str, ...], ...]  # symptom -> ... -> root, each once
    unexplained: tuple[str, ...]  # alerting services with no path to the root
    topology: Topology | None
    notes: tuple[str, ...]


def find_incident(lines: Iterable[bytes | str], incident_id: str, source: str) -> dict[str, Any]:
    """The latest version of ``incident_id`` (or of the one incident whose id starts so).

    A merged incident is followed to the incident that absorbed it, so the
    answer is always the incident that holds the alerts now.

    Raises:
        ExplainError: no such incident, an ambiguous prefix, or a broken line.
    """
    latest: dict[str, dict[str, Any]] = {}
    for number, raw in enumerate(lines, start=1):
        event = _event(raw, source, number)
        if event is None:
            continue
        held = latest.get(event["id"])
        if held is None or event["version"] > held["version"]:
            latest[event["id"]] = event
    chosen = _match(latest, incident_id, source)
    seen = {chosen}
    while latest[chosen].get("status") == "merged":
        target = latest[chosen].get("merged_into")
        if not isinstance(target, str) or target not in latest or target in seen:
            break
        seen.add(target)
        chosen = target
    found = dict(latest[chosen])
    if chosen != incident_id and not chosen.startswith(incident_id):
        found["_followed_from"] = incident_id
    return found


def _event(raw: bytes | str, source: str, number: int) -> dict[str, Any] | None:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ExplainError(f"{source}: line {number}: not JSON ({exc})") from None
    if isinstance(value, dict) and "specversion" in value and isinstance(value.get("data"), dict):
        value = value["data"]  # a CloudEvent from the incidents topic
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("id"), str)
        or not isinstance(value.get("version"), int)
    ):
        raise ExplainError(f"{source}: line {number}: not an incident event")
    return value


def _match(latest: Mapping[str, Any], incident_id: str, source: str) -> str:
    if incident_id in latest:
        return incident_id
    matches = sorted(i for i in latest if i.startswith(incident_id))
    if len(matches) == 1:
        return matches[0]
    if matches:
        shown = ", ".join(matches[:5])
        raise ExplainError(f"{incident_id!r} matches {len(matches)} incidents in {source}: {shown}")
    raise ExplainError(f"no incident {incident_id!r} in {source} ({len(latest)} incidents read)")


def explain(incident: Mapping[str, Any], topology: Topology | None) -> Explanation:
    """Collect the root, the alerting services and the symptom-to-root paths."""
    notes: list[str] = []
    if "_followed_from" in incident:
        notes.append(
            f"{incident['_followed_from']} was merged; showing {incident['id']}, which absorbed it"
        )
    version = incident.get("topology_version")
    if topology is not None and isinstance(version, str) and version != topology.version:
        notes.append(
            f"the incident was correlated with topology {version}; the file given is "
            f"{topology.version}, so the neighbourhood may differ"
        )
    alerting = _alerting(incident)
    root_entry = incident.get("root_cause")
    root = root_entry.get("service") if isinstance(root_entry, dict) else None
    root = root if isinstance(root, str) else None
    paths = _paths(incident, root, alerting, topology)
    on_path = {s for p in paths for s in p}
    unexplained = tuple(s for s in sorted(alerting) if s != root and s not in on_path)
    return Explanation(incident, root, alerting, paths, unexplained, topology, tuple(notes))


def _alerting(incident: Mapping[str, Any]) -> dict[str, AlertingService]:
    opened = _time(incident.get("opened_at"))
    found: dict[str, AlertingService] = {}
    alerts = incident.get("alerts")
    for alert in alerts if isinstance(alerts, list) else []:
        if not isinstance(alert, dict) or not isinstance(alert.get("service"), str):
            continue
        service = alert["service"]
        start = _time(alert.get("starts_at"))
        offset = start - opened if start is not None and opened is not None else 0.0
        held = found.get(service)
        count = 1 + (held.alerts if held else 0)
        if held is None or offset < held.offset_s:
            found[service] = AlertingService(
                service,
                str(alert.get("name", "?")),
                str(alert.get("severity", "?")),
                offset,
                count,
                bool(alert.get("known_service", True)),
            )
        else:
            found[service] = replace(held, alerts=count)
    return dict(sorted(found.items()))


def _time(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _paths(
    incident: Mapping[str, Any],
    root: str | None,
    alerting: Mapping[str, AlertingService],
    topology: Topology | None,
) -> tuple[tuple[str, ...], ...]:
    if root is None:
        return ()
    found: dict[str, tuple[str, ...]] = {}
    candidates = incident.get("candidates")
    for candidate in candidates if isinstance(candidates, list) else []:
        if not isinstance(candidate, dict) or candidate.get("service") != root:
            continue
        evidence = candidate.get("evidence")
        explains = evidence.get("explains") if isinstance(evidence, dict) else None
        for item in explains if isinstance(explains, list) else []:
            path = item.get("path") if isinstance(item, dict) else None
            if _is_path(path, root):
                found.setdefault(path[0], tuple(path))
    if topology is not None and root in topology:
        for service in alerting:
            if service not in found and service != root and service in topology:
                path = topology.dependency_path(service, root)
                if path is not None:
                    found[service] = path
    return tuple(found[s] for s in sorted(found))


def _is_path(value: object, root: str) -> TypeGuard[list[str]]:
    return (
        isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(v, str) for v in value)
        and value[-1] == root
    )


# -- text -------------------------------------------------------------------------


def render_text(explanation: Explanation, *, colour: bool = False) -> list[str]:
    """The terminal report, one string per line (ANSI colours only when asked)."""
    paint = _painter(colour)
    incident = explanation.incident
    lines = [
        paint(
            "title",
            f"incident {incident.get('id')} (version {incident.get('version')}, "
            f"{incident.get('status')}): {incident.get('severity', '?')}",
        ),
        f"  {incident.get('title', '')}",
        f"  opened {incident.get('opened_at')}, updated {incident.get('updated_at')}; "
        f"topology {incident.get('topology_version')}",
    ]
    lines += [f"  note: {note}" for note in explanation.notes]
    lines += _root_lines(explanation, paint)
    if explanation.root is not None:
        lines += [
            "",
            "how the symptoms reach the root cause (each service depends on the one above it):",
            *_tree(explanation, paint),
        ]
    neighbours = _neighbourhood_lines(explanation, paint)
    if neighbours:
        lines += ["", "neighbourhood (alerting services and their direct neighbours):", *neighbours]
    if explanation.unexplained:
        shown = ", ".join(_mark(explanation, s, paint) for s in explanation.unexplained)
        lines += ["", f"alerting, not on a path to the root cause: {shown}"]
    lines += [
        "",
        f"legend: {paint('root', ROOT_MARK)} root cause  {paint('alert', ALERT_MARK)} alerting  "
        f"{paint('quiet', QUIET_MARK)} not alerting",
    ]
    return lines


Painter = Callable[[str, str], str]


def _painter(colour: bool) -> Painter:
    def paint(role: str, text: str) -> str:
        return f"\x1b[{_COLOURS[role]}m{text}\x1b[0m" if colour else text

    return paint


def _root_lines(explanation: Explanation, paint: Painter) -> list[str]:
    incident = explanation.incident
    if explanation.root is None:
        return ["root cause: (none ranked)"]
    candidates = [c for c in incident.get("candidates") or [] if isinstance(c, dict)]
    top = candidates[0] if candidates else {}
    evidence = top.get("evidence") if isinstance(top.get("evidence"), dict) else {}
    coverage = evidence.get("coverage") if isinstance(evidence, dict) else None
    detail = f"  score {top.get('score')}" + (
        f", explains {coverage:.0%} of the other alerting services"
        if isinstance(coverage, float | int)
        else ""
    )
    lines = [f"root cause: {_mark(explanation, explanation.root, paint)}{detail}"]
    others = [f"{c.get('service')} {c.get('score')}" for c in candidates[1:] if c.get("service")]
    if others:
        lines.append(f"other candidates: {', '.join(others)}")
    return lines


def _mark(explanation: Explanation, service: str, paint: Painter) -> str:
    if service == explanation.root:
        return paint("root", f"{ROOT_MARK} {service}")
    if service in explanation.alerting:
        return paint("alert", f"{ALERT_MARK} {service}")
    return paint("quiet", f"{QUIET_MARK} {service}")


def _describe(explanation: Explanation, service: str) -> str:
    parts: list[str] = []
    topology = explanation.topology
    if topology is not None and service in topology:
        parts.append(f"[{topology.service(service).kind}]")
    alert = explanation.alerting.get(service)
    if alert is not None:
        more = f" +{alert.alerts - 1} more" if alert.alerts > 1 else ""
        parts.append(f"{alert.name} {alert.severity} at +{alert.offset_s:.0f}s{more}")
        if not alert.known:
            parts.append("(not in the topology)")
    return "  ".join(parts)


def _tree(explanation: Explanation, paint: Painter) -> list[str]:
    root = explanation.root
    assert root is not None
    children: dict[str, set[str]] = {}
    for path in explanation.paths:
        for caller, callee in pairwise(path):
            children.setdefault(callee, set()).add(caller)
    lines = [f"{_mark(explanation, root, paint)}  {_describe(explanation, root)}".rstrip()]
    shown: set[str] = {root}

    def walk(node: str, prefix: str) -> None:
        kids = sorted(children.get(node, ()))
        for index, kid in enumerate(kids):
            last = index == len(kids) - 1
            branch = "`-- " if last else "|-- "
            repeat = kid in shown
            text = f"{_mark(explanation, kid, paint)}  {_describe(explanation, kid)}".rstrip()
            lines.append(f"{prefix}{branch}{text}{'  (see above)' if repeat else ''}")
            if not repeat:
                shown.add(kid)
                walk(kid, prefix + ("    " if last else "|   "))

    walk(root, " ")
    if len(lines) == 1:
        lines.append("  (no other service reaches it: a single-service incident)")
    return lines


def _neighbourhood_lines(explanation: Explanation, paint: Painter) -> list[str]:
    topology = explanation.topology
    if topology is None:
        return []
    lines: list[str] = []
    for service in explanation.alerting:
        if service not in topology:
            continue
        deps = ", ".join(
            _mark(explanation, d, paint) for d in sorted(topology.dependencies(service))
        )
        callers = ", ".join(
            _mark(explanation, d, paint) for d in sorted(topology.dependents(service))
        )
        lines.append(
            f"  {_mark(explanation, service, paint)}: depends on {deps or '-'}; "
            f"called by {callers or '-'}"
        )
    return lines


# -- image ------------------------------------------------------------------------

ROOT_STYLE = NodeStyle("#e74c3c", edge="#7b241c", width=2.5, note=" (root)")
ALERT_STYLE = NodeStyle("#f5b041", edge="#935116", width=1.5)
QUIET_STYLE = NodeStyle("#eeeeee", edge="#999999", width=0.8)


def image_parts(
    explanation: Explanation,
) -> tuple[Topology, dict[str, NodeStyle], set[tuple[str, str]]]:
    """The neighbourhood graph to draw, each service's style, and the path edges to stress."""
    keep: set[str] = set(explanation.alerting) | {s for p in explanation.paths for s in p}
    topology = explanation.topology
    if topology is not None:
        near = {
            n
            for s in sorted(keep)
            if s in topology
            for n in (*topology.dependencies(s), *topology.dependents(s))
        }
        if len(keep | near) <= MAX_IMAGE_SERVICES:
            keep |= near
    graph = _subgraph(keep, explanation)
    styles = {
        sid: ROOT_STYLE
        if sid == explanation.root
        else (ALERT_STYLE if sid in explanation.alerting else QUIET_STYLE)
        for sid in graph
    }
    highlight = {(a, b) for p in explanation.paths for a, b in pairwise(p)}
    return graph, styles, highlight


def _subgraph(keep: set[str], explanation: Explanation) -> Topology:
    topology = explanation.topology
    edges: dict[str, set[str]] = {s: set() for s in keep}
    if topology is not None:
        for service in keep:
            if service in topology:
                edges[service] |= {d for d in topology.dependencies(service) if d in keep}
    for path in explanation.paths:
        for caller, callee in pairwise(path):
            edges[caller].add(callee)
    services: list[Service] = []
    for sid in sorted(edges):
        base = (
            topology.service(sid) if topology is not None and sid in topology else Service(id=sid)
        )
        services.append(Service(id=sid, kind=base.kind, depends_on=tuple(sorted(edges[sid]))))
    return Topology.from_services(services, name=str(explanation.incident.get("id")))


def paths_as_text(paths: Sequence[Sequence[str]]) -> list[str]:
    """Paths as ``a -> b -> root`` lines (for tests and logs)."""
    return [" -> ".join(p) for p in paths]
