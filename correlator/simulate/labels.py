"""Turn planned alerts into labelled, fingerprinted alerts.

Labels follow Prometheus and Kubernetes habits: ``alertname``, ``severity``,
``namespace``, ``cluster``, a pod-IP ``instance`` and a ``pod``. Some
components are named by an alias or through ``app``/``job`` instead of
``service``, consistently per component, as happens when exporters and
teams label things their own way. ``instance`` differs per incident, so two
faults on the same component produce different fingerprints, as they do in a
real cluster where pods are rescheduled and get new IPs.
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from correlator.codecs.fingerprint import alert_fingerprint
from correlator.model import Severity
from correlator.simulate.faults import Episode, PlannedGroup
from correlator.simulate.scenarios import Knobs
from topology import Topology

_PORT = {"database": 9187, "cache": 9121, "queue": 9308, "gateway": 8443}


@dataclass(frozen=True, slots=True)
class SimAlert:
    """A fully labelled alert with its firing episodes and its true group."""

    fingerprint: str
    group: str
    service: str  # id in the true topology
    label_service: str  # the name its labels use (id or alias)
    name: str
    severity: Severity
    summary: str
    labels: Mapping[str, str]
    episodes: tuple[Episode, ...]
    delay_ms: int
    is_root: bool


def _namespace(topology: Topology, service: str) -> str:
    team = topology.services[service].team
    if team:
        return team.removeprefix("team-")
    return service.split("-", 1)[0]


def label_styles(true_topology: Topology, given: Topology, rng: random.Random,
                 knobs: Knobs) -> dict[str, tuple[str, str]]:
    """Per component, the label key and value its alerts use to name it."""
    styles: dict[str, tuple[str, str]] = {}
    for sid in sorted(true_topology.services):
        aliases = true_topology.services[sid].aliases
        if rng.random() >= knobs.alias_probability:
            styles[sid] = ("service", sid)
        elif aliases and sid in given and rng.random() < 0.6:
            styles[sid] = ("service", rng.choice(aliases))
        else:
            styles[sid] = (rng.choice(("app", "job")), sid)
    return styles


def _pod(rng: random.Random, service: str, kind: str) -> str:
    if kind in _PORT and kind != "gateway":
        return f"{service}-{rng.randrange(3)}"  # a StatefulSet ordinal
    alphabet = string.ascii_lowercase + string.digits
    return (f"{service}-{rng.getrandbits(40):010x}-"
            f"{''.join(rng.choice(alphabet) for _ in range(5))}")


def label_storm(groups: Sequence[PlannedGroup], true_topology: Topology, given: Topology,
                rng: random.Random, knobs: Knobs) -> list[SimAlert]:
    """Label every planned alert with a fingerprint no other alert of the storm has."""
    styles = label_styles(true_topology, given, rng, knobs)
    owner: dict[str, str] = {}
    alerts: list[SimAlert] = []
    for group in groups:
        instances: dict[str, tuple[str, str]] = {}
        for planned in group.alerts:
            kind = true_topology.services[planned.service].kind
            key, value = styles[planned.service]
            labels: dict[str, str] = {}
            for _ in range(100):
                if planned.service not in instances:
                    ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
                    instances[planned.service] = (
                        f"{ip}:{_PORT.get(kind, 8080)}",
                        _pod(rng, planned.service, kind),
                    )
                instance, pod = instances[planned.service]
                labels = {
                    "alertname": planned.rule.name,
                    "severity": planned.severity.value,
                    "namespace": _namespace(true_topology, planned.service),
                    "cluster": knobs.cluster,
                    "instance": instance,
                    "pod": pod,
                    key: value,
                }
                fingerprint = alert_fingerprint(labels)
                if fingerprint not in owner:
                    break
                del instances[planned.service]  # same labels as an earlier incident: redraw
            else:
                raise AssertionError(f"simulator bug: no fresh fingerprint left in {group.id}")
            owner[fingerprint] = group.id
            alerts.append(
                SimAlert(
                    fingerprint=fingerprint,
                    group=group.id,
                    service=planned.service,
                    label_service=value,
                    name=planned.rule.name,
                    severity=planned.severity,
                    summary=planned.rule.summary.format(service=value),
                    labels=labels,
                    episodes=planned.episodes,
                    delay_ms=planned.delay_ms,
                    is_root=planned.is_root,
                )
            )
    return alerts
