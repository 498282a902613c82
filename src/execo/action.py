"""Actions: one command on many hosts, file copies, and their combinations.

The names are those of :mod:`execo`; this module exists for execo 2.8.2 imports such as
``from execo.action import Action``.
"""

from __future__ import annotations

from . import (
    Action,
    ActionFactory,
    ActionLifecycleHandler,
    ActionsFailed,
    ChainPut,
    Get,
    Local,
    ParallelActions,
    Put,
    Remote,
    RemoteSerial,
    SequentialActions,
    TaktukGet,
    TaktukPut,
    TaktukRemote,
    default_action_factory,
    filter_bad_hosts,
    get_fileget,
    get_fileput,
    get_remote,
    wait_all_actions,
    wait_any_actions,
)

__all__ = [
    "Action",
    "ActionFactory",
    "ActionsFailed",
    "default_action_factory",
    "ChainPut",
    "ActionLifecycleHandler",
    "Get",
    "Local",
    "ParallelActions",
    "Put",
    "Remote",
    "RemoteSerial",
    "SequentialActions",
    "TaktukGet",
    "TaktukPut",
    "TaktukRemote",
    "filter_bad_hosts",
    "get_fileget",
    "get_fileput",
    "get_remote",
    "wait_all_actions",
    "wait_any_actions",
]
