"""Scoring change correlation: did the incident name the deploy that caused it?

``enrich_with_changes`` re-ranks the suspects of any incident events (the
engine's or a baseline's) with a set of changes, offline. ``culprit_outcomes``
classifies every cascade that has a culprit change, and ``changes_report``
renders ``docs/changes.md`` from simulated ``deploys`` storms: generated,
never edited by hand, like ``docs/quality.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from correlator.changes import Change, decode_change
from correlator.codecs import Rejection
from correlator.enrich import Enricher
from correlator.evaluate.incidents import final_incidents
from correlator.evaluate.metrics import evaluate
from correlator.evaluate.report import TopologyCase, default_cases, engine_config
from correlator.replay import replay_lines
from correlator.simulate import simulate
from topology import Topology

__all__ = [
    "CHANGE_SCENARIOS",
    "Outcome",
    "changes_report",
    "culprit_outcomes",
    "enrich_with_changes",
    "storm_changes",
]

#: Storm families the change report runs: deploys alone, and deploys on top of
#: the families that make root-cause ranking hard.
CHANGE_SCENARIOS: tuple[str, ...] = (
    "deploys",
    "mixed,deploys",
    "overlapping,deploys",
    "drift,deploys",
    "late_root,deploys",
)

Progress = Callable[[str], None]


def enrich_with_changes(events: Iterable[Mapping[str, Any]], changes: Iterable[Change],
                        topology: Topology) -> list[dict[str, Any]]:
    """Events with ``suspect_changes`` (re)computed from ``changes``, in their order.

    Every change is observed up front; by the enrichment stage's horizon
    rule that ranks exactly as the replay does.
    """
    enricher = Enricher(topology)
    for change in sorted(changes, key=lambda c: (c.at, c.id)):
        enricher.observe_change(change)
    return [enricher.enrich(event) for event in events]


def storm_changes(records: Sequence[Mapping[str, Any]]) -> list[Change]:
    """Decode simulated change records; a record that does not decode is a simulator bug."""
    changes = []
    for record in records:
        decoded = decode_change(orjson.dumps(record))
        if isinstance(decoded, Rejection):
            raise AssertionError(f"simulator wrote an invalid change: {decoded.detail}")
        changes.append(decoded)
    return changes


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one cascade's culprit fared: its rank (None if not listed) and why it missed."""

    group: str
    rank: int | None
    verdict: str  # top1 | top3 | outranked_by_innocent | outranked_by_other_culprit |
    #              not_listed | lost
    shared: bool = False  # its incident also holds alerts of another cascade with a culprit


def culprit_outcomes(truth: Mapping[str, Any],
                     events: Iterable[dict[str, Any]]) -> list[Outcome]:
    """Classify every cascade with a culprit change, using the same incident choice as AC@k."""
    alert_group: Mapping[str, str] = truth["alerts"]
    groups: Mapping[str, Mapping[str, Any]] = truth["groups"]
    culprits = {spec["culprit_change"] for spec in groups.values() if spec.get("culprit_change")}
    incidents = [i for i in final_incidents(events) if i.get("alerts")]
    order = {i["id"]: k for k, i in enumerate(incidents)}
    owner: dict[str, str] = {}
    for incident in incidents:
        for alert in incident["alerts"]:
            owner.setdefault(alert["fingerprint"], incident["id"])
    by_id = {i["id"]: i for i in incidents}
    culprit_groups: dict[str, set[str]] = {}
    for fp, group in alert_group.items():
        if fp in owner and groups[group].get("culprit_change"):
            culprit_groups.setdefault(owner[fp], set()).add(group)
    outcomes = []
    for group in sorted(g for g, spec in groups.items() if spec.get("culprit_change")):
        culprit = groups[group]["culprit_change"]
        held = Counter(owner[fp] for fp, g in alert_group.items() if g == group and fp in owner)
        if not held:
            outcomes.append(Outcome(group, None, "lost"))
            continue
        best = min(held, key=lambda inc: (-held[inc], order[inc]))
        ids = [s.get("change_id") for s in by_id[best].get("suspect_changes") or ()]
        rank = ids.index(culprit) + 1 if culprit in ids else None
        if rank == 1:
            verdict = "top1"
        elif rank is None:
            verdict = "not_listed"
        elif ids[0] in culprits:
            verdict = "outranked_by_other_culprit"
        else:
            verdict = "outranked_by_innocent"
        if rank is not None and rank <= 3 and verdict != "top1":
            verdict = f"top3 ({verdict})"
        outcomes.append(Outcome(group, rank, verdict, len(culprit_groups.get(best, ())) > 1))
    return outcomes


def _run(case: TopologyCase, scenario: str, seed: int) -> tuple[list[Outcome], float | None,
                                                                 float | None]:
    storm = simulate(case.topology, scenario, seed)
    events = replay_lines(storm.lines(), storm.given_topology, engine_config(),
                          changes=storm_changes(storm.changes)).events
    metrics = evaluate(storm.truth, events)
    return culprit_outcomes(storm.truth, events), metrics.innocent_blamed, metrics.ac_at_1


def _share(outcomes: Sequence[Outcome], top: int) -> float | None:
    if not outcomes:
        return None
    return sum(1 for o in outcomes if o.rank is not None and o.rank <= top) / len(outcomes)


def _alone(outcomes: Sequence[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if not o.shared]


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def changes_report(out: Path, seeds: int, progress: Progress | None = None,
                   cases: Sequence[TopologyCase] | None = None) -> str:
    """Simulate deploy storms, replay them with their changes, and write the report."""
    if seeds < 1:
        raise ValueError("--seeds must be at least 1")
    chosen = list(cases) if cases is not None else default_cases()
    lines = [
        "# Change correlation quality",
        "",
        "<!-- Generated; do not edit by hand. Regenerate with:",
        f"     correlator changes-report --seeds {seeds} -->",
        "",
        "Storms from `correlator simulate` with the `deploys` family: each cascade is set off,",
        "with probability 0.8, by a culprit change on its root service 1-15 min before its",
        "first alert (85 % deploys, 15 % config pushes), and innocent changes land on random",
        "services at 6 per hour (70 % deploys, 15 % config, 15 % flags). The storm is",
        "replayed with `--changes`; for every cascade with a culprit, the incident holding",
        "most of its alerts is checked (definitions in `correlator/evaluate/metrics.py`).",
        "",
        "Columns: culprits = cascades with a culprit change (summed over seeds); top-1 /",
        "top-3 = share whose culprit is the incident's first / among its first three",
        "suspects (pooled over seeds); innocent blamed = share of culprit-less cascades",
        "whose first suspect sits on the incident's root-cause service (mean over seeds);",
        "top-1 alone = top-1 over the cascades whose incident holds no other culprit",
        "cascade (when two faults share an incident only one can come first);",
        "AC@1 = root-cause accuracy of the same storms, for context. Misses are broken",
        "down by why: an innocent change ranked first, another cascade's culprit ranked",
        "first (two cascades in one incident), the culprit not listed at all, or the",
        f"cascade's alerts lost. Seeds: 1-{seeds}.",
    ]
    pooled: list[Outcome] = []
    for case in chosen:
        lines += ["", f"## {case.title}", "",
                  "| scenario | culprits | top-1 | top-3 | top-1 alone | innocent blamed | AC@1 "
                  "| misses |",
                  "|---|---:|---:|---:|---:|---:|---:|---|"]
        for scenario in CHANGE_SCENARIOS:
            outcomes: list[Outcome] = []
            blamed: list[float] = []
            ac1: list[float] = []
            for seed in range(1, seeds + 1):
                if progress is not None:
                    progress(f"{case.key} / {scenario} / seed {seed}")
                found, innocent, ac = _run(case, scenario, seed)
                outcomes += found
                blamed += [innocent] if innocent is not None else []
                ac1 += [ac] if ac is not None else []
            pooled += outcomes
            misses = Counter(o.verdict for o in outcomes if o.verdict != "top1")
            miss_text = ", ".join(f"{k} {v}" for k, v in sorted(misses.items())) or "none"
            lines.append(
                f"| {scenario} | {len(outcomes)} | {_fmt(_share(outcomes, 1))} | "
                f"{_fmt(_share(outcomes, 3))} | {_fmt(_share(_alone(outcomes), 1))} | "
                f"{_fmt(sum(blamed) / len(blamed) if blamed else None)} | "
                f"{_fmt(sum(ac1) / len(ac1) if ac1 else None)} | {miss_text} |"
            )
    lines += ["", "## Overall", "",
              f"Pooled over every storm above: {len(pooled)} culprits, top-1 "
              f"{_fmt(_share(pooled, 1))}, top-3 {_fmt(_share(pooled, 3))}, top-1 alone "
              f"{_fmt(_share(_alone(pooled), 1))} ({len(_alone(pooled))} culprits).",
              "",
              "## Reading the numbers",
              "",
              "* The ranking itself rarely errs: when a cascade has its incident to itself, its",
              "  culprit comes first in almost every storm (`top-1 alone`). Most misses come",
              "  from grouping: two cascades in one incident (only one culprit can be first;",
              "  the other is usually second), or a cascade whose alerts landed in another",
              "  fault's incident, which may not list the culprit at all (`not_listed`).",
              "* So the small, dense sample topology, where concurrent cascades share services,",
              "  scores lower than the 1,000-service one, and `overlapping` lowest.",
              "* `innocent blamed` counts culprit-less cascades whose first suspect is an",
              "  innocent change on the root-cause service: 6 innocent changes an hour over",
              "  23 services put one within the hour before a fault about a fifth of the time;",
              "  proximity weighting makes most of them rank low, not disappear.",
              "* The simulated culprit always lands 1-15 min before the first alert and on the",
              "  true root service; real culprits can be slower (a leak that takes hours) or",
              "  sit on a service that never alerts. Both would lower these figures.",
              ]
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return text
