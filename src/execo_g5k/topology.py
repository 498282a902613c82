"""The Grid'5000 network as a graph (needs the ``topology`` extra: networkx), and a picture
of it (needs the ``plot`` extra: matplotlib).

Typical use::

    graph = await g5k_graph(["nova-1", "gros-3"])      # a networkx MultiGraph
    print(networkx.shortest_path(graph, "nova-1", "gros-3"))
    treemap(graph).savefig("network.png")
"""

from ._topology import BACKBONE_LATENCY as BACKBONE_LATENCY
from ._topology import G5kGraph as G5kGraph
from ._topology import build_g5k_graph as build_g5k_graph
from ._topology import g5k_graph as g5k_graph
from ._treemap import layered_layout as layered_layout
from ._treemap import treemap as treemap

__all__ = [
    "BACKBONE_LATENCY",
    "G5kGraph",
    "build_g5k_graph",
    "g5k_graph",
    "layered_layout",
    "treemap",
]
