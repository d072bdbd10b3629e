"""``topology validate`` and ``topology show``: check a file, look around in it.

``validate`` is meant for CI and pre-commit: exit status 0 when the file is
good, 1 with every problem on its own line when it is not (never a
traceback). Shapes that are legal but usually a mistake (dependency cycles,
isolated services) are warnings: printed, exit 0, unless ``--strict``.
``show`` prints dependency trees so a person can check the graph says what
they meant.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from topology.checks import warnings_for
from topology.errors import TopologyError
from topology.fields import format_window
from topology.graph import Topology
from topology.loader import load_topology
from topology.model import SLO

MAX_DEPTH = 50
"""Deepest tree ``show`` prints; deeper trees are unreadable anyway."""

_DEEPER, _SEEN, _CYCLE = "(...)", "(see above)", "(cycle)"


def register(commands: Any) -> None:
    """Add ``validate`` and ``show`` to the ``topology`` parser."""
    validate = commands.add_parser(
        "validate",
        help="check a topology file; list every problem",
        description=(
            "Check a topology file (project YAML or node-link JSON). Exit 0 if it is "
            "valid, 1 with one problem per line if not. Dependency cycles and isolated "
            "services are warnings (exit 0) unless --strict."
        ),
    )
    validate.add_argument("file", metavar="FILE")
    validate.add_argument(
        "--strict", action="store_true", help="fail (exit 1) on warnings as well as errors"
    )
    validate.set_defaults(handler=_validate)
    show = commands.add_parser(
        "show",
        help="print dependency trees",
        description=(
            "Print what SERVICE depends on and what depends on it, or, without SERVICE, "
            "the dependency tree under every entry point (services nothing calls)."
        ),
    )
    show.add_argument("file", metavar="FILE")
    show.add_argument("service", metavar="SERVICE", nargs="?", help="id or alias")
    show.add_argument("--depth", type=depth_argument, default=3, help="levels to print (default 3)")
    show.set_defaults(handler=_show)


def depth_argument(text: str) -> int:
    """An argparse type: a tree depth between 1 and :data:`MAX_DEPTH`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_DEPTH:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_DEPTH}, got {value}")
    return value


def _load(path: str) -> Topology | None:
    try:
        return load_topology(path)
    except TopologyError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"invalid: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        return None


def _validate(args: argparse.Namespace) -> int:
    topology = _load(args.file)
    if topology is None:
        return 1
    found = warnings_for(topology)
    for finding in found:
        print(f"{args.file}: warning: {finding.message}", file=sys.stderr)
    count = len(found)
    warned = f", {count} warning{'s' if count != 1 else ''}" if count else ""
    if found and args.strict:
        print(f"invalid: {count} warning{'s' if count != 1 else ''} (--strict)", file=sys.stderr)
        return 1
    print(
        f"ok: {len(topology)} services, {topology.dependency_count} dependencies, "
        f"version {topology.version}{warned}"
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    topology = _load(args.file)
    if topology is None:
        return 1
    if args.service is None:
        _print_overview(topology, args.depth)
        return 0
    service_id = topology.resolve(args.service)
    if service_id is None:
        print(
            f"error: unknown service {args.service!r}{_guess(topology, args.service)}",
            file=sys.stderr,
        )
        return 1
    _print_service(topology, service_id, args.depth)
    return 0


def _print_overview(topology: Topology, depth: int) -> None:
    title = topology.name or topology.source
    print(
        f"{title}: {len(topology)} services, {topology.dependency_count} dependencies, "
        f"version {topology.version}"
    )
    lines: list[str] = []
    for root in _entry_points(topology):
        lines += ["", _label(topology, root), *_tree(topology, root, topology.dependencies, depth)]
    _print_lines(lines)


def _print_service(topology: Topology, service_id: str, depth: int) -> None:
    service = topology.service(service_id)
    print(_label(topology, service_id))
    details = [
        f"{name}: {value}"
        for name, value in (
            ("tier", service.tier),
            ("criticality", service.criticality),
            ("aliases", ", ".join(sorted(service.aliases)) or None),
            ("slo", _slo_text(service.slo) if service.slo else None),
        )
        if value is not None
    ]
    lines = [f"  {line}" for line in details]
    for heading, children in (
        ("depends on", topology.dependencies),
        ("depended on by", topology.dependents),
    ):
        tree = _tree(topology, service_id, children, depth) or ["  (nothing)"]
        lines += ["", f"{heading}:", *tree]
    _print_lines(lines)


def _slo_text(slo: SLO) -> str:
    window = format_window(slo.window_seconds)
    window_text = f"{window}" if isinstance(window, str) else f"{window}s"
    return f"{slo.objective:g}% over {window_text} (counts {', '.join(slo.severities)} alerts)"


def _print_lines(lines: Sequence[str]) -> None:
    for line in lines:
        print(line)
    notes = [
        f"{marker} {meaning}"
        for marker, meaning in (
            (_DEEPER, "= more levels below; raise --depth to see them"),
            (_SEEN, "= this subtree is printed earlier"),
            (_CYCLE, "= the service is already on this path"),
        )
        if any(line.endswith(marker) for line in lines)
    ]
    if notes:
        print()
        print("; ".join(notes))


def _entry_points(topology: Topology) -> list[str]:
    """Services nothing calls, plus one per component made only of cycles."""
    roots = [sid for sid in topology if not topology.dependents(sid)]
    covered = set(roots)
    for component in topology.components():
        if covered.isdisjoint(component):
            roots.append(min(component))
    return sorted(roots)


def _tree(
    topology: Topology,
    root: str,
    children: Callable[[str], Iterable[str]],
    depth: int,
) -> list[str]:
    """Render the tree under ``root`` to ``depth`` levels, each subtree once."""
    lines: list[str] = []
    expanded: set[str] = set()

    def walk(node: str, prefix: str, level: int, path: frozenset[str]) -> None:
        kids = sorted(children(node))
        for index, kid in enumerate(kids):
            last = index == len(kids) - 1
            grandchildren = bool(children(kid))
            note = ""
            if kid in path:
                note = f"  {_CYCLE}"
            elif kid in expanded and grandchildren:
                note = f"  {_SEEN}"
            elif level >= depth and grandchildren:
                note = f"  {_DEEPER}"
            lines.append(f"{prefix}{'`-- ' if last else '|-- '}{_label(topology, kid)}{note}")
            if not note:
                expanded.add(kid)
                walk(kid, prefix + ("    " if last else "|   "), level + 1, path | {kid})

    walk(root, "  ", 1, frozenset({root}))
    return lines


def _label(topology: Topology, service_id: str) -> str:
    service = topology.service(service_id)
    team = f", team {service.team}" if service.team else ""
    return f"{service_id} ({service.kind}{team})"


def _guess(topology: Topology, name: str) -> str:
    names: Sequence[str] = [*topology, *(a for s in topology.services.values() for a in s.aliases)]
    close = difflib.get_close_matches(name, names, n=3)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
