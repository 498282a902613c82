# Stubs for the parts of ClusterShell.NodeSet that execo uses: host sets (node-[1-50]).
from collections.abc import Iterable, Iterator
from typing import Self

class NodeSetException(Exception): ...
class NodeSetError(NodeSetException): ...
class NodeSetParseError(NodeSetError): ...

class GroupResolver: ...

RESOLVER_NOGROUP: GroupResolver
NOGROUP_RESOLVER: GroupResolver

class NodeSet:
    def __init__(
        self,
        nodes: str | NodeSet | None = None,
        autostep: int | None = None,
        resolver: GroupResolver | None = None,
        fold_axis: Iterable[int] | None = None,
    ) -> None: ...
    @classmethod
    def fromlist(
        cls,
        nodelist: Iterable[str],
        autostep: int | None = None,
        resolver: GroupResolver | None = None,
    ) -> Self: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def __contains__(self, other: object) -> bool: ...
