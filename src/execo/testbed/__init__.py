"""A local virtual cluster of real SSH hosts, for experiments' dry runs, tests and demos.

``async with LocalCluster(n) as cluster:`` brings up ``n`` hosts on this machine: as root,
network namespaces on a bridge, each with its own hostname, sshd and private directories;
otherwise sshd servers on 127.0.0.x. ``python -m execo.testbed up N | status | down`` does
the same from a shell.
"""

from ._backend import Node as Node
from ._cluster import LocalCluster as LocalCluster
from ._cluster import Mode as Mode
from ._cluster import clean_stale as clean_stale
from ._cluster import teardown as teardown
from ._errors import NotSupportedError as NotSupportedError
from ._errors import TestbedError as TestbedError
from ._sshd import LoopbackSshd as LoopbackSshd
from ._sshd import find_sshd as find_sshd
from ._sshd import free_port as free_port
from ._state import ClusterState as ClusterState
from ._state import default_state_dir as default_state_dir
from ._state import list_states as list_states

__all__ = [
    "LocalCluster",
    "Mode",
    "Node",
    "TestbedError",
    "NotSupportedError",
    "ClusterState",
    "clean_stale",
    "default_state_dir",
    "list_states",
    "teardown",
    "LoopbackSshd",
    "find_sshd",
    "free_port",
]
