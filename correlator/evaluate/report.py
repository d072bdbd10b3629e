"""The quality report: Correlator against the baselines on simulated storms.

``docs/quality.md`` is generated, never edited: every number in it comes from
simulating storms at fixed seeds, replaying them through the engine and the
baselines, and scoring all of them with :func:`correlator.evaluate.evaluate`.
The output depends only on the code, the seeds and the input files, so a
change in the numbers is a change in behaviour that a reviewer can see in the
diff.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

from correlator.config import EngineConfig, load_engine_config
from correlator.evaluate.baselines import BASELINES, run_baseline
from correlator.evaluate.metrics import Metrics, evaluate
from correlator.replay import replay_lines
from correlator.simulate import SCENARIOS, Knobs, generate_topology, simulate
from topology import Topology, load_topology

Runner = Callable[[Sequence[bytes], Topology], list[dict[str, Any]]]
Progress = Callable[[str], None]

#: Families the report scores grouping on; ``deploys`` only adds changes to a storm
#: (its alerts equal the base storm's), so it is scored in docs/changes.md instead.
REPORT_SCENARIOS = tuple(s for s in SCENARIOS if s != "deploys")

SAMPLE_TOPOLOGY = Path("configs/topology.yaml")
#: Call graphs of public microservice demos, read from their manifests: real shapes
#: that nobody tuned the engine on (the source of each edge is in the file).
EXAMPLE_TOPOLOGIES = (
    Path("configs/examples/online-boutique.json"),
    Path("configs/examples/sock-shop.json"),
)
ENGINE_CONFIG = Path("configs/engine.yaml")
GENERATED_SIZE = 1000
GENERATED_SEED = 1000

# (column title, metric key, format); the order of the report's columns.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("F1", "f1", "{:.3f}"),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("ARI", "ari", "{:.3f}"),
    ("purity", "purity", "{:.3f}"),
    ("compression", "compression", "{:.3f}"),
    ("lost", "lost_alerts", "{:.1f}"),
    ("noise iso.", "noise_isolation", "{:.3f}"),
    ("AC@1", "ac_at_1", "{:.3f}"),
    ("AC@3", "ac_at_3", "{:.3f}"),
    ("latency p50 s", "latency_p50_s", "{:.0f}"),
    ("latency p95 s", "latency_p95_s", "{:.0f}"),
)


@dataclass(frozen=True, slots=True)
class TopologyCase:
    """One topology the storms run on, with the name the report uses for it."""

    key: str
    title: str
    topology: Topology


def engine_config() -> EngineConfig:
    """The shipped engine config when there is one, else the built-in defaults."""
    return load_engine_config(ENGINE_CONFIG) if ENGINE_CONFIG.is_file() else EngineConfig()


def engine_runner() -> tuple[Runner, str]:
    """The engine as a runner, with the shipped config when there is one, and a note saying so."""
    config = engine_config()
    if ENGINE_CONFIG.is_file():
        note = f"Correlator runs with `{ENGINE_CONFIG}`."
    else:
        note = "Correlator runs with its built-in defaults."

    def run(lines: Sequence[bytes], topology: Topology) -> list[dict[str, Any]]:
        return replay_lines(lines, topology, config).events

    return run, note


def baseline_runner(name: str) -> Runner:
    def run(lines: Sequence[bytes], topology: Topology) -> list[dict[str, Any]]:
        return run_baseline(name, lines, topology)

    return run


def average(rows: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """Macro average per metric; missing (None) values are left out, all-None stays None."""
    keys = [key for _, key, _ in COLUMNS] + ["alerts", "records", "true_groups", "incidents"]
    out: dict[str, float | None] = {}
    for key in keys:
        values = [float(r[key]) for r in rows if r.get(key) is not None]
        out[key] = fmean(values) if values else None
    return out


def _cell(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else fmt.format(value)


def markdown_table(rows: Sequence[tuple[str, Mapping[str, float | None]]]) -> list[str]:
    """One row per system, one column per metric."""
    head = "| system | " + " | ".join(title for title, _, _ in COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(COLUMNS)
    body = [
        f"| {name} | " + " | ".join(_cell(m.get(key), fmt) for _, key, fmt in COLUMNS) + " |"
        for name, m in rows
    ]
    return [head, rule, *body]


def run_storm(case: TopologyCase, scenario: str, seed: int,
              runners: Sequence[tuple[str, Runner]]) -> dict[str, Metrics]:
    """Simulate one storm and score every system on it."""
    storm = simulate(case.topology, scenario, seed)
    lines = storm.lines()
    return {
        name: evaluate(storm.truth, run(lines, storm.given_topology)) for name, run in runners
    }


def default_cases() -> list[TopologyCase]:
    """The sample topology and a generated 1,000-service one."""
    if not SAMPLE_TOPOLOGY.is_file():
        raise ValueError(f"{SAMPLE_TOPOLOGY} not found; run quality-report from the repo root")
    sample = load_topology(SAMPLE_TOPOLOGY)
    generated = generate_topology(GENERATED_SIZE, GENERATED_SEED)
    examples = [
        TopologyCase(path.stem, f"{path.stem} (`{path}`, {len(topo)} services)", topo)
        for path in EXAMPLE_TOPOLOGIES
        if path.is_file() and (topo := load_topology(path))
    ]
    return [
        TopologyCase("sample", f"sample topology (`{SAMPLE_TOPOLOGY}`, {len(sample)} services)",
                     sample),
        *examples,
        TopologyCase("generated", f"generated topology ({len(generated)} services, "
                     f"`generate_topology({GENERATED_SIZE}, {GENERATED_SEED})`)", generated),
    ]


def build_report(cases: Sequence[TopologyCase], scenarios: Sequence[str], seeds: Sequence[int],
                 runners: Sequence[tuple[str, Runner]], *, notes: Sequence[str],
                 command: str, progress: Progress | None = None) -> str:
    """Run every (topology, scenario, seed) storm and render the Markdown report."""
    results: dict[tuple[str, str], dict[str, dict[str, float | None]]] = {}
    storm_stats: dict[tuple[str, str], dict[str, float | None]] = {}
    for case in cases:
        for scenario in scenarios:
            per_system: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in runners}
            for seed in seeds:
                if progress is not None:
                    progress(f"{case.key} / {scenario} / seed {seed}")
                for name, metrics in run_storm(case, scenario, seed, runners).items():
                    per_system[name].append(metrics.to_dict())
            results[(case.key, scenario)] = {n: average(r) for n, r in per_system.items()}
            storm_stats[(case.key, scenario)] = average(per_system[runners[0][0]])

    knobs = Knobs()
    lines = [
        "# Correlation quality",
        "",
        "<!-- Generated; do not edit by hand. Regenerate with:",
        f"     {command} -->",
        "",
        "Every number below comes from alert storms simulated by `correlator simulate`",
        "(fault cascades spreading along the true topology, noise, re-sends and arrival",
        "jitter; see `correlator/simulate/`), replayed through each system and scored by",
        "`correlator evaluate` (definitions in `correlator/evaluate/metrics.py`).",
        f"Delivery emulates Alertmanager with `group_by: [{', '.join(knobs.group_by)}]`, "
        f"`group_wait: {knobs.group_wait_s:g}s`,",
        f"`group_interval: {knobs.group_interval_s:g}s` and "
        f"`repeat_interval: {knobs.repeat_interval_s:g}s`.",
        "",
        f"Seeds: {', '.join(str(s) for s in seeds)}. Each cell is the mean over the seeds;",
        "each summary is the mean of its scenario means (a macro average). The scenario",
        "families are described in `correlator/simulate/scenarios.py`.",
        "",
        *notes,
        "",
        "Systems: `correlator` is the engine. The baselines",
        "(`correlator/evaluate/baselines.py`) are `time_window` (one incident per burst,",
        "5 min gap), `am_service` (Alertmanager `group_by: [service]`, 5 min) and",
        "`components` (same weakly connected component of the given topology, 5 min gap).",
        "Baseline latency is an optimistic lower bound: they emit without waiting.",
        "",
        "Columns: pairwise F1, precision and recall and the adjusted Rand index (ARI) of",
        "the grouping over unique alerts; purity; compression = 1 - incidents / unique",
        "alerts; lost = alerts in no incident (must be 0); noise iso. = share of noise",
        "alerts in an incident with no alert of another true group; AC@k = share of",
        "cascades whose true root is among the top k candidates of the incident holding",
        "most of the cascade; latency = first emission minus the incident's first alert",
        "start, in seconds.",
    ]
    for case in cases:
        lines += ["", f"## Summary: {case.title}", ""]
        summary = [
            (name, average([results[(case.key, s)][name] for s in scenarios]))
            for name, _ in runners
        ]
        lines += markdown_table(summary)
        ideal = fmean(
            1 - (st["true_groups"] or 0) / st["alerts"]
            for st in (storm_stats[(case.key, s)] for s in scenarios) if st["alerts"]
        )
        lines += ["", f"Ideal compression (true groups) averages {ideal:.3f}."]
    lines += targets_section(cases, scenarios, results, storm_stats, runners[0][0])
    for case in cases:
        lines += ["", f"## Per scenario: {case.title}"]
        for scenario in scenarios:
            st = storm_stats[(case.key, scenario)]
            lines += [
                "",
                f"### {case.key} / {scenario}",
                "",
                f"Storm size (mean): {_cell(st['alerts'], '{:.1f}')} unique alerts, "
                f"{_cell(st['records'], '{:.1f}')} alert records, "
                f"{_cell(st['true_groups'], '{:.1f}')} true groups.",
                "",
            ]
            lines += markdown_table(
                [(name, results[(case.key, scenario)][name]) for name, _ in runners]
            )
    return "\n".join(lines) + "\n"


#: The accuracy targets the engine is held to (issue #3), as (label, metric, scope, floor).
TARGETS: tuple[tuple[str, str, str | None, float], ...] = (
    ("F1 >= 0.95", "f1", None, 0.95),
    ("overlapping F1 >= 0.93", "f1", "overlapping", 0.93),
    ("noise F1 >= 0.93", "f1", "noise", 0.93),
    ("AC@1 >= 0.90", "ac_at_1", None, 0.90),
    ("AC@3 >= 0.98", "ac_at_3", None, 0.98),
)


def targets_section(
    cases: Sequence[TopologyCase],
    scenarios: Sequence[str],
    results: Mapping[tuple[str, str], Mapping[str, Mapping[str, float | None]]],
    storm_stats: Mapping[tuple[str, str], Mapping[str, float | None]],
    system: str,
) -> list[str]:
    """One row per topology: each target with the measured value and whether it is met."""
    head = ["topology", *(label for label, _, _, _ in TARGETS),
            "compression within 0.01 of ideal", "lost = 0"]
    rows = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for case in cases:
        cells = [case.key]
        for _, key, scope, floor in TARGETS:
            picked = [scope] if scope is not None and scope in scenarios else list(scenarios)
            values = [results[(case.key, s)][system].get(key) for s in picked]
            known = [v for v in values if v is not None]
            value = fmean(known) if known else None
            cells.append("n/a" if value is None
                         else f"{value:.3f} {'met' if value >= floor else 'NOT met'}")
        gaps = []
        for s in scenarios:
            st, got = storm_stats[(case.key, s)], results[(case.key, s)][system]
            if st["alerts"] and got.get("compression") is not None:
                ideal = 1 - (st["true_groups"] or 0) / st["alerts"]
                gaps.append(abs(float(got["compression"] or 0.0) - ideal))
        gap = fmean(gaps) if gaps else None
        cells.append("n/a" if gap is None else f"{gap:.3f} {'met' if gap <= 0.01 else 'NOT met'}")
        lost = sum(float(results[(case.key, s)][system].get("lost_alerts") or 0.0)
                   for s in scenarios)
        cells.append(f"{lost:g} {'met' if lost == 0 else 'NOT met'}")
        rows.append("| " + " | ".join(cells) + " |")
    return [
        "", "## Against the targets", "",
        f"Macro averages of `{system}` over the families (or the one family named); "
        "compression is the mean absolute gap to the ideal per family. "
        "Reported as measured, met or not.", "", *rows,
    ]


def quality_report(out: Path, seeds: int, quick: bool,
                   progress: Progress | None = None) -> str:
    """Regenerate the report at ``out``; ``quick`` uses one seed. Returns the text."""
    if seeds < 1:
        raise ValueError("--seeds must be at least 1")
    count = 1 if quick else seeds
    engine, note = engine_runner()
    runners = [("correlator", engine), *((name, baseline_runner(name)) for name in BASELINES)]
    notes = [note]
    command = "correlator quality-report" + (" --quick" if quick else f" --seeds {count}")
    text = build_report(default_cases(), REPORT_SCENARIOS, range(1, count + 1), runners,
                        notes=notes, command=command, progress=progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return text
