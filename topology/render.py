"""Draw a topology as an SVG or PNG image, offline, with matplotlib.

The layout is layered, not force-directed: callers on the left, what they
depend on to the right, one column per depth (services in one cycle share a
column). Dependency graphs read best that way, and the layout needs no
random seed, so the same graph always gives the same picture (SVG output is
byte-for-byte reproducible: no date, fixed ids).

``styles`` lets callers colour services (``correlator explain`` marks the
alerting services and the root cause); ``highlight`` draws chosen edges bold.
matplotlib is imported only when an image is drawn, so the rest of the
package starts fast.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import networkx as nx

from topology.graph import Topology

KIND_COLOURS: dict[str, str] = {
    "service": "#dbe9f6",
    "database": "#f6e3c6",
    "cache": "#f9f0c1",
    "queue": "#e3d9f1",
    "gateway": "#d8efdc",
}
KIND_MARKERS: dict[str, str] = {
    "service": "o",
    "database": "s",
    "cache": "D",
    "queue": "h",
    "gateway": "^",
}


@dataclass(frozen=True, slots=True)
class NodeStyle:
    """How to draw one service: fill colour, outline colour and width, a label suffix."""

    fill: str
    edge: str = "#333333"
    width: float = 1.0
    note: str = ""


def layered_positions(topology: Topology) -> dict[str, tuple[float, float]]:
    """Column = longest chain of callers above the service; rows in a stable order."""
    graph = topology.graph
    condensed = nx.condensation(graph)
    depth: dict[int, int] = {}
    for scc in nx.topological_sort(condensed):
        callers = list(condensed.predecessors(scc))
        depth[scc] = 1 + max((depth[c] for c in callers), default=-1)
    mapping = condensed.graph["mapping"]
    columns: dict[int, list[str]] = {}
    for sid in topology:
        columns.setdefault(depth[mapping[sid]], []).append(sid)
    positions: dict[str, tuple[float, float]] = {}
    for column in sorted(columns):
        members = columns[column]
        if column > 0:  # barycentre of the callers' rows: fewer crossing edges
            members.sort(key=lambda s: (_mean_row(topology, s, positions), s))
        for row, sid in enumerate(members):
            positions[sid] = (float(column), -(row - (len(members) - 1) / 2.0))
    return positions


def _mean_row(topology: Topology, sid: str, positions: Mapping[str, tuple[float, float]]) -> float:
    rows = [positions[c][1] for c in topology.dependents(sid) if c in positions]
    return -sum(rows) / len(rows) if rows else 0.0


def render_image(
    topology: Topology,
    path: str | os.PathLike[str],
    fmt: str,
    *,
    styles: Mapping[str, NodeStyle] | None = None,
    highlight: Collection[tuple[str, str]] = (),
    title: str | None = None,
) -> None:
    """Write the drawing to ``path`` as ``svg`` or ``png``.

    Raises:
        ValueError: an unknown format or an empty topology.
        OSError: the file cannot be written.
    """
    if fmt not in ("svg", "png"):
        raise ValueError(f"unknown image format {fmt!r}; choose svg or png")
    if len(topology) == 0:
        raise ValueError("nothing to draw: the topology has no services")
    import matplotlib
    from matplotlib.figure import Figure

    matplotlib.rcParams["svg.hashsalt"] = "correlator-topology"
    positions = layered_positions(topology)
    columns = 1 + max(int(x) for x, _ in positions.values())
    rows = max(sum(1 for x, _ in positions.values() if int(x) == c) for c in range(columns))
    figure = Figure(figsize=(max(4.0, 2.6 * columns), max(2.5, 0.8 * rows + 1.0)), dpi=100)
    axes = figure.add_subplot()
    axes.set_axis_off()
    chosen = styles or {}
    bold = set(highlight)
    for a in topology:
        for b in sorted(topology.dependencies(a)):
            strong = (a, b) in bold
            axes.annotate(
                "",
                xy=positions[b],
                xytext=positions[a],
                arrowprops={
                    "arrowstyle": "-|>",
                    "color": "#c0392b" if strong else "#777777",
                    "lw": 2.2 if strong else 0.9,
                    "shrinkA": 14,
                    "shrinkB": 14,
                    "connectionstyle": "arc3,rad=0.08",
                },
                zorder=1,
            )
    for sid in topology:
        kind = topology.service(sid).kind
        style = chosen.get(sid, NodeStyle(KIND_COLOURS[kind]))
        x, y = positions[sid]
        axes.scatter(
            [x],
            [y],
            s=520,
            marker=KIND_MARKERS[kind],
            c=style.fill,
            edgecolors=style.edge,
            linewidths=style.width,
            zorder=2,
        )
        axes.text(x, y - 0.32, sid + style.note, ha="center", va="top", fontsize=8, zorder=3)
    axes.set_xlim(-0.6, columns - 0.4)
    axes.set_ylim(-(rows / 2.0) - 0.6, rows / 2.0 + 0.3)
    if title:
        axes.set_title(title, fontsize=10)
    metadata: dict[str, str | None] = {"Date": None} if fmt == "svg" else {"Software": None}
    figure.savefig(os.fspath(path), format=fmt, metadata=metadata, bbox_inches="tight")
