"""Score incidents against the simulator's ground truth.

The unit of scoring is the *unique firing alert* (a truth fingerprint):
re-sends and resolves of the same alert are one item. Definitions:

* **Assignment.** A fingerprint belongs to the earliest final, non-merged
  incident (by ``opened_at``, then id) that lists it; ``split_alerts`` counts
  fingerprints listed by more than one. A truth fingerprint in no incident is
  *lost* and scored as a singleton cluster of its own, so losing alerts hurts
  recall instead of flattering precision.
* **Pairwise precision / recall / F1.** Over all pairs of truth alerts: a pair
  is a true positive when both share a true group and an incident. Counted
  from the group x incident contingency table, never pair by pair.
* **ARI.** scikit-learn's adjusted Rand index of the same two labelings.
* **Purity.** Share of alerts that belong to their incident's majority group.
* **Compression.** ``1 - incidents / unique alerts``, where incidents are the
  final non-merged incidents with at least one alert; ``ideal`` uses the true
  group count instead, ``record`` divides by every alert record received
  (re-sends included).
* **Noise isolation.** Of the alerts in true *noise* groups, the share whose
  incident holds no truth alert from any other true group. Lost noise alerts
  count as not isolated. ``None`` when the storm has no noise.
* **AC@k.** For each true cascade, take the incident holding most of its
  alerts (ties: earliest); the cascade is a hit at k when the true root
  service is among the first k distinct services of that incident's ranked
  candidates (or of ``root_cause`` when there are no candidates).
* **Detection latency.** Per incident, ``first_emitted_at`` minus the earliest
  ``starts_at`` of its alerts, in seconds; the p50 and p95 over incidents.
* **Suspect-change accuracy** (storms with deploys). For each true cascade
  with a ``culprit_change``, take the incident holding most of its alerts
  (as for AC@k); top-1 is a hit when that incident's first
  ``suspect_changes`` entry is the culprit, top-3 when the culprit is among
  the first three. A cascade whose alerts are all lost is a miss. ``None``
  when the truth has no culprits. **Innocent blamed**: of the cascades
  *without* a culprit (in a storm that has changes), the share whose
  incident's first suspect is on its root-cause service (``relation``
  ``root_cause``) and is no cascade's culprit -- a random deploy wrongly
  looking like the cause.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sklearn.metrics import adjusted_rand_score

from correlator.evaluate.incidents import final_incidents, parse_time


class TruthError(ValueError):
    """truth.json does not have the simulator's shape; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class Metrics:
    """How well one set of incidents matches the truth of one storm."""

    alerts: int
    records: int
    true_groups: int
    cascades: int
    incidents: int
    precision: float
    recall: float
    f1: float
    ari: float
    purity: float
    compression: float
    ideal_compression: float
    record_compression: float
    lost_alerts: int
    split_alerts: int
    noise_isolation: float | None
    ac_at_1: float | None
    ac_at_3: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    culprits: int = 0
    change_top1: float | None = None
    change_top3: float | None = None
    innocent_blamed: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values; floats rounded to 4 decimals for stable output."""
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def pairs(n: int) -> int:
    """Number of unordered pairs among ``n`` items."""
    return n * (n - 1) // 2


def pairwise_scores(contingency: Mapping[tuple[str, str], int]) -> tuple[float, float, float]:
    """Pairwise (precision, recall, F1) from a (true group, cluster) -> count table.

    With no predicted pairs precision is 1 (nothing was wrongly joined); with
    no true pairs recall is 1 (nothing needed joining).
    """
    true_sizes: Counter[str] = Counter()
    pred_sizes: Counter[str] = Counter()
    for (group, cluster), count in contingency.items():
        true_sizes[group] += count
        pred_sizes[cluster] += count
    together = sum(pairs(c) for c in contingency.values())
    predicted = sum(pairs(c) for c in pred_sizes.values())
    actual = sum(pairs(c) for c in true_sizes.values())
    precision = together / predicted if predicted else 1.0
    recall = together / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in [0, 100]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _truth_tables(truth: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    alerts, groups = truth.get("alerts"), truth.get("groups")
    if not isinstance(alerts, dict) or not isinstance(groups, dict):
        raise TruthError("truth must have 'alerts' (fingerprint -> group) and 'groups' objects")
    for fp, group in alerts.items():
        if group not in groups:
            raise TruthError(f"truth alert {fp} names unknown group {group!r}")
    return alerts, groups


def _ranked_services(incident: Mapping[str, Any]) -> list[str]:
    services: list[str] = []
    for candidate in incident.get("candidates") or ():
        service = candidate.get("service")
        if isinstance(service, str) and service not in services:
            services.append(service)
    root = incident.get("root_cause")
    if not services and isinstance(root, dict) and isinstance(root.get("service"), str):
        services.append(root["service"])
    return services


def _latency_seconds(incident: Mapping[str, Any]) -> float | None:
    starts = [
        parse_time(a["starts_at"], f"incident {incident['id']} alert starts_at")
        for a in incident.get("alerts") or ()
        if a.get("starts_at")
    ]
    emitted = incident.get("first_emitted_at")
    if not starts or not emitted:
        return None
    first = parse_time(emitted, f"incident {incident['id']} first_emitted_at")
    return (first - min(starts)).total_seconds()


def evaluate(truth: Mapping[str, Any], events: Iterable[dict[str, Any]]) -> Metrics:
    """Score incident ``events`` (any versions, any order) against ``truth``."""
    alert_group, groups = _truth_tables(truth)
    incidents = [i for i in final_incidents(events) if i.get("alerts")]
    assigned: dict[str, str] = {}
    listed: Counter[str] = Counter()
    members: dict[str, list[str]] = defaultdict(list)
    for incident in incidents:
        for fp in sorted({a["fingerprint"] for a in incident["alerts"]}):
            listed[fp] += 1
            if fp in alert_group:
                members[incident["id"]].append(fp)
                assigned.setdefault(fp, incident["id"])
    fingerprints = sorted(alert_group)
    labels = {fp: assigned.get(fp, f"lost:{fp}") for fp in fingerprints}
    contingency = Counter((alert_group[fp], labels[fp]) for fp in fingerprints)
    precision, recall, f1 = pairwise_scores(contingency)

    majority: dict[str, int] = defaultdict(int)
    for (_, cluster), count in contingency.items():
        majority[cluster] = max(majority[cluster], count)
    n = len(fingerprints)

    noise = [fp for fp in fingerprints if groups[alert_group[fp]].get("kind") == "noise"]
    isolated = sum(
        1 for fp in noise
        if fp in assigned and {alert_group[m] for m in members[assigned[fp]]} == {alert_group[fp]}
    )

    by_id = {i["id"]: i for i in incidents}
    cascades = sorted(g for g, spec in groups.items() if spec.get("kind") == "cascade")
    ranks: list[int | None] = []
    change_ranks: list[int | None] = []
    blamed: list[bool] = []
    has_changes = "changes" in truth
    culprit_ids = {spec.get("culprit_change") for spec in groups.values()} - {None}
    order = {i["id"]: k for k, i in enumerate(incidents)}
    for group in cascades:
        held = Counter(assigned[fp] for fp in fingerprints
                       if alert_group[fp] == group and fp in assigned)
        culprit = groups[group].get("culprit_change")
        if not held:
            ranks.append(None)
            if culprit:
                change_ranks.append(None)
            continue
        best = min(held, key=lambda inc: (-held[inc], order[inc]))
        services = _ranked_services(by_id[best])
        root = groups[group].get("root")
        ranks.append(services.index(root) + 1 if root in services else None)
        suspects = [s for s in by_id[best].get("suspect_changes") or () if isinstance(s, dict)]
        if culprit:
            ids = [s.get("change_id") for s in suspects]
            change_ranks.append(ids.index(culprit) + 1 if culprit in ids else None)
        elif has_changes:
            blamed.append(bool(suspects) and suspects[0].get("relation") == "root_cause"
                          and suspects[0].get("change_id") not in culprit_ids)

    latencies = [s for s in (_latency_seconds(i) for i in incidents) if s is not None]
    records = int(truth.get("records", 0) or 0)
    return Metrics(
        alerts=n,
        records=records,
        true_groups=len({alert_group[fp] for fp in fingerprints}),
        cascades=len(cascades),
        incidents=len(incidents),
        precision=precision,
        recall=recall,
        f1=f1,
        ari=float(adjusted_rand_score([alert_group[fp] for fp in fingerprints],
                                      [labels[fp] for fp in fingerprints])) if n else 1.0,
        purity=sum(majority.values()) / n if n else 1.0,
        compression=1 - len(incidents) / n if n else 0.0,
        ideal_compression=1 - len({alert_group[fp] for fp in fingerprints}) / n if n else 0.0,
        record_compression=1 - len(incidents) / records if records else 0.0,
        lost_alerts=sum(1 for fp in fingerprints if fp not in assigned),
        split_alerts=sum(1 for fp in fingerprints if listed[fp] > 1),
        noise_isolation=isolated / len(noise) if noise else None,
        ac_at_1=sum(1 for r in ranks if r == 1) / len(ranks) if ranks else None,
        ac_at_3=sum(1 for r in ranks if r is not None and r <= 3) / len(ranks) if ranks else None,
        latency_p50_s=percentile(latencies, 50),
        latency_p95_s=percentile(latencies, 95),
        culprits=len(change_ranks),
        change_top1=(sum(1 for r in change_ranks if r == 1) / len(change_ranks)
                     if change_ranks else None),
        change_top3=(sum(1 for r in change_ranks if r is not None and r <= 3) / len(change_ranks)
                     if change_ranks else None),
        innocent_blamed=sum(blamed) / len(blamed) if blamed else None,
    )
