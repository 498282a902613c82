"""Hosts and host lists.

The names are those of :mod:`execo`; this module exists for execo 2.8.2 imports such as
``from execo.host import Host``.
"""

from __future__ import annotations

from . import (
    Host,
    HostLike,
    expand_hosts,
    fold_hosts,
    get_hosts_list,
    get_hosts_set,
    get_unique_hosts_list,
)

__all__ = [
    "Host",
    "HostLike",
    "expand_hosts",
    "fold_hosts",
    "get_hosts_list",
    "get_hosts_set",
    "get_unique_hosts_list",
]
