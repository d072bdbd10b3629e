"""``correlator evaluate`` and ``correlator quality-report``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from correlator.evaluate.baselines import BASELINES, decode_lines, run_baseline
from correlator.evaluate.changes import changes_report, enrich_with_changes
from correlator.evaluate.incidents import EventsError, read_events
from correlator.evaluate.metrics import Metrics, TruthError, evaluate
from correlator.evaluate.report import COLUMNS, quality_report
from correlator.replay import decode_change_lines
from topology import TopologyError, load_topology


def _fail(message: str) -> int:
    print(f"correlator: error: {message}", file=sys.stderr)
    return 2


def register(subparsers: Any) -> None:
    """Add the ``evaluate`` and ``quality-report`` sub-commands."""
    p = subparsers.add_parser(
        "evaluate",
        help="score incidents (or a baseline) against a simulated storm's truth",
        description="Score incident events against truth.json: pairwise precision/recall/F1, "
        "ARI, purity, compression, lost alerts, noise isolation, AC@1/AC@3 and detection "
        "latency. With --baseline, run that baseline over --alerts first.",
    )
    p.add_argument("--truth", required=True, help="truth.json written by correlator simulate")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--incidents", help="incident events (JSON Lines, e.g. from replay)")
    source.add_argument("--baseline", choices=BASELINES, help="run this baseline instead")
    p.add_argument("--alerts", help="alerts.jsonl; record count for record compression, "
                   "and the input of --baseline")
    p.add_argument("--topology", help="topology given to --baseline (YAML or node-link JSON)")
    p.add_argument("--write-incidents", metavar="PATH",
                   help="with --baseline: also write its incident events here")
    p.add_argument("--changes", metavar="PATH",
                   help="changes.jsonl: (re-)rank suspect changes of the incidents with these "
                   "changes before scoring (needs --topology). Without it, suspect-change "
                   "accuracy is scored from the events' own suspect_changes")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=run_evaluate)

    q = subparsers.add_parser(
        "quality-report",
        help="regenerate docs/quality.md (Correlator vs baselines on simulated storms)",
        description="Simulate storms for every scenario family on the sample and a generated "
        "1,000-service topology, run Correlator and the baselines, and write a Markdown report.",
    )
    q.add_argument("--out", default="docs/quality.md", help="report path (default docs/quality.md)")
    q.add_argument("--seeds", type=int, default=3, help="seeds per scenario (default 3)")
    q.add_argument("--quick", action="store_true", help="one seed only")
    q.set_defaults(func=run_quality_report)

    c = subparsers.add_parser(
        "changes-report",
        help="regenerate docs/changes.md (suspect-change accuracy on simulated deploy storms)",
        description="Simulate storms with the deploys family on the sample and a generated "
        "1,000-service topology, replay them with their changes, and write how often each "
        "cascade's incident names its culprit change first (top-1) or in its top 3.",
    )
    c.add_argument("--out", default="docs/changes.md", help="report path (default docs/changes.md)")
    c.add_argument("--seeds", type=int, default=10, help="seeds per scenario (default 10)")
    c.set_defaults(func=run_changes_report)


def format_metrics(metrics: Metrics) -> str:
    """Aligned ``name  value`` lines, in the report's column order then the counts."""
    values = metrics.to_dict()
    titles = {key: title for title, key, _ in COLUMNS}
    order = ["alerts", "records", "true_groups", "cascades", "incidents"]
    order += [key for _, key, _ in COLUMNS]
    order += ["ideal_compression", "record_compression", "split_alerts"]
    if values.get("culprits"):
        order += ["culprits", "change_top1", "change_top3", "innocent_blamed"]
    width = max(len(titles.get(k, k)) for k in order)
    rows = []
    for key in order:
        value = values[key]
        shown = "n/a" if value is None else (f"{value:.4f}" if isinstance(value, float)
                                            else str(value))
        rows.append(f"{titles.get(key, key).ljust(width)}  {shown:>10}")
    return "\n".join(rows)


def _read_lines(path: str) -> list[bytes]:
    try:
        return Path(path).read_bytes().splitlines()
    except OSError as exc:
        raise EventsError(f"cannot read {path}: {exc.strerror}") from None


def _read_truth(path: str) -> dict[str, Any]:
    try:
        value = orjson.loads(Path(path).read_bytes())
    except OSError as exc:
        raise TruthError(f"cannot read {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise TruthError(f"{path}: not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise TruthError(f"{path}: expected a JSON object")
    return value


def run_evaluate(args: argparse.Namespace) -> int:
    """Handler of ``correlator evaluate``; returns the exit code."""
    try:
        truth = _read_truth(args.truth)
        lines = _read_lines(args.alerts) if args.alerts else None
        if lines is not None:
            truth = {**truth, "records": sum(1 for _ in decode_lines(lines))}
        if args.baseline:
            if lines is None or not args.topology:
                return _fail("--baseline needs --alerts and --topology")
            events = run_baseline(args.baseline, lines, load_topology(args.topology))
            if args.write_incidents:
                Path(args.write_incidents).write_bytes(
                    b"".join(orjson.dumps(e) + b"\n" for e in events))
        else:
            events = list(read_events(Path(args.incidents)))
        if args.changes:
            if not args.topology:
                return _fail("--changes needs --topology")
            changes, rejects = decode_change_lines(_read_lines(args.changes))
            if rejects:
                first = rejects[0]
                return _fail(f"{args.changes}:{first['line']}: not a change: {first['detail']}")
            events = enrich_with_changes(events, changes, load_topology(args.topology))
        metrics = evaluate(truth, events)
    except TopologyError as exc:
        return _fail(str(exc).replace("\n", "; "))
    except (EventsError, TruthError) as exc:
        return _fail(str(exc))
    except (KeyError, TypeError, ValueError) as exc:
        return _fail(f"malformed input: {exc!r}")
    except OSError as exc:
        return _fail(f"cannot write {args.write_incidents}: {exc.strerror or exc}")
    if args.json:
        print(orjson.dumps(metrics.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        print(format_metrics(metrics))
    return 0


def run_quality_report(args: argparse.Namespace) -> int:
    """Handler of ``correlator quality-report``; returns the exit code."""
    def progress(step: str) -> None:
        print(f"quality-report: {step}", file=sys.stderr, flush=True)

    try:
        quality_report(Path(args.out), args.seeds, args.quick, progress)
    except TopologyError as exc:
        return _fail(str(exc).replace("\n", "; "))
    except ValueError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write {args.out}: {exc.strerror or exc}")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def run_changes_report(args: argparse.Namespace) -> int:
    """Handler of ``correlator changes-report``; returns the exit code."""
    def progress(step: str) -> None:
        print(f"changes-report: {step}", file=sys.stderr, flush=True)

    try:
        changes_report(Path(args.out), args.seeds, progress)
    except TopologyError as exc:
        return _fail(str(exc).replace("\n", "; "))
    except ValueError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write {args.out}: {exc.strerror or exc}")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0
