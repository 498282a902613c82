"""A local virtual cluster of real SSH hosts, for experiments' dry runs, tests and demos."""

from ._sshd import LoopbackSshd as LoopbackSshd
from ._sshd import find_sshd as find_sshd
from ._sshd import free_port as free_port

__all__ = ["LoopbackSshd", "find_sshd", "free_port"]
