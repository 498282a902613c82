"""`treemap`: a `G5kGraph` drawn as a picture (matplotlib), with a layered layout.

The layout is computed here (pure, no graphviz): the backbone on top, then each site's
router, its switches by their distance from the router, and the hosts on the bottom row,
grouped by site and by switch; an equipment sits above the hosts it serves.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._hostnames import natural_sort_key

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ._topology import G5kGraph

__all__ = ["layered_layout", "treemap"]

_SITE_GAP = 2.0
_MIN_GAP = 2.5
_STYLE = {  # kind: (marker, size, colour)
    "renater": ("h", 260, "#7b4fa0"),
    "router": ("D", 200, "#c0392b"),
    "switch": ("s", 150, "#2e86c1"),
    "node": ("o", 40, None),
}
_OTHER = ("s", 120, "#7f8c8d")


def _depths(graph: G5kGraph) -> dict[str, int]:
    """Distance of each equipment from its site's router (routers 0, backbone -1)."""
    depth: dict[str, int] = {}
    for n in graph.nodes:
        kind = graph.nodes[n].get("kind")
        if kind == "router":
            depth[n] = 0
        elif kind == "renater":
            depth[n] = -1
    frontier = [n for n, d in depth.items() if d == 0]
    while frontier:
        following = []
        for n in frontier:
            for m in sorted(graph.neighbors(n), key=natural_sort_key):
                if m not in depth and graph.nodes[m].get("kind") not in ("node", "renater"):
                    depth[m] = depth[n] + 1
                    following.append(m)
        frontier = following
    for n in graph.nodes:  # equipments not reached from a router
        if n not in depth and graph.nodes[n].get("kind") != "node":
            depth[n] = 1
    return depth


def layered_layout(graph: G5kGraph) -> dict[str, tuple[float, float]]:
    """``{node: (x, y)}``, ``y`` counted downwards: the backbone on row 0, routers on row 1,
    switches below by distance, the hosts on the last row (pure)."""
    depth = _depths(graph)
    bottom = max([d for d in depth.values()] + [0]) + 2
    x: dict[str, float] = {}
    position = 0.0
    for site in graph.get_sites():
        hosts = graph.get_hosts(site=site)
        hosts.sort(key=lambda h: (graph.get_host_neighbours(h)[:1], natural_sort_key(h)))
        for h in hosts:
            x[h] = position
            position += 1.0
        position += _SITE_GAP
    equipments = sorted((n for n in depth if depth[n] >= 0), key=lambda n: -depth[n])
    for n in equipments:  # deepest first: each one above what hangs below it
        below = [
            x[m]
            for m in graph.neighbors(n)
            if m in x and (graph.nodes[m].get("kind") == "node" or depth.get(m, 0) > depth[n])
        ]
        if below:
            x[n] = sum(below) / len(below)
    backbone = sorted((n for n in depth if depth[n] < 0), key=natural_sort_key)
    for _ in range(len(backbone) + 1):  # the backbone above its routers, then its peers
        for n in backbone:
            known = [x[m] for m in graph.neighbors(n) if m in x and m != n]
            if known and n not in x:
                x[n] = sum(known) / len(known)
    width = max(position - _SITE_GAP, 1.0)
    missing = [n for n in graph.nodes if n not in x]
    for i, n in enumerate(missing):
        x[n] = width * (i + 1) / (len(missing) + 1)
    rows: dict[int, list[str]] = {}
    for n, d in depth.items():
        rows.setdefault(d, []).append(n)
    gap = max(_MIN_GAP, width / 30)
    for row in rows.values():  # equipments of a row at least `gap` apart (their labels)
        row.sort(key=lambda n: (x[n], natural_sort_key(n)))
        for previous, n in itertools.pairwise(row):
            x[n] = max(x[n], x[previous] + gap)
    return {
        n: (x[n], float(bottom if graph.nodes[n].get("kind") == "node" else depth[n] + 1))
        for n in graph.nodes
    }


def treemap(
    graph: G5kGraph,
    *,
    title: str | None = None,
    nodes_labels: Mapping[str, str] | None = None,
    compact: bool = False,
    width: float = 14.0,
) -> Figure:
    """Draws the graph: one picture of the backbone, routers, switches and hosts.

    Edge widths grow with the bandwidth (log scale); inactive links (adapters not
    configured) are dashed; hosts are coloured by cluster.

    Args:
        graph: The graph (`g5k_graph`).
        title: A title; default: the sites and the reference commit.
        nodes_labels: Labels to show instead of the node names.
        compact: No host labels (the clusters are named under their hosts instead).
        width: Figure width in inches.

    Returns:
        A ``matplotlib.figure.Figure`` (not shown: ``fig.savefig("net.png")``).
    """
    from matplotlib.figure import Figure

    positions = layered_layout(graph)
    labels = dict(nodes_labels or {})
    rows = max((y for _, y in positions.values()), default=0.0)
    figure = Figure(figsize=(width, 2.0 + 1.6 * rows))
    ax = figure.add_subplot()
    ax.set_axis_off()
    for a, b, data in graph.edges(data=True):
        (xa, ya), (xb, yb) = positions[a], positions[b]
        bandwidth = data.get("bandwidth") or 1e9
        ax.plot(
            [xa, xb],
            [-ya, -yb],
            color="#555555" if data.get("active") else "#aaaaaa",
            linestyle="-" if data.get("active") else "--",
            linewidth=max(0.5, math.log10(bandwidth) - 8.5),
            zorder=1,
        )
    clusters = graph.get_clusters()
    palette = [f"C{i % 10}" for i in range(len(clusters))]
    colours = dict(zip(clusters, palette, strict=True))
    hosts = graph.get_hosts()
    show_hosts = not compact and len(hosts) <= 80
    for n in graph.nodes:
        kind = str(graph.nodes[n].get("kind"))
        marker, size, colour = _STYLE.get(kind, _OTHER)
        if kind == "node":
            colour = colours.get(str(graph.nodes[n].get("cluster")), "C0")
        xn, yn = positions[n]
        ax.scatter([xn], [-yn], marker=marker, s=size, c=colour, zorder=2, edgecolors="white")
        if kind != "node" or show_hosts:
            ax.annotate(
                labels.get(n, n),
                (xn, -yn),
                xytext=(0, -14 if kind == "node" else 12),
                textcoords="offset points",
                ha="center",
                fontsize=7 if kind == "node" else 8,
                rotation=90 if kind == "node" else 0,
                va="top" if kind == "node" else "bottom",
            )
    if not show_hosts:
        for cluster in clusters:
            xs = [positions[h][0] for h in graph.get_hosts(cluster=cluster)]
            ax.annotate(cluster, (sum(xs) / len(xs), -rows), xytext=(0, -16),
                        textcoords="offset points", ha="center", fontsize=9)  # fmt: skip
    sites = ", ".join(graph.get_sites())
    commit = str(graph.graph.get("api_commit") or "")[:10]
    ax.set_title(title if title is not None else f"Grid'5000 network: {sites} ({commit})")
    ax.margins(0.05, 0.25)
    return figure
