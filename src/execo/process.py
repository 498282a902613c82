"""Processes: local, over ssh, over serial ports, port forwarding.

The names are those of :mod:`execo`; this module exists for execo 2.8.2 imports such as
``from execo.process import STDERR``.
"""

from __future__ import annotations

from . import (
    STDERR,
    STDOUT,
    ExpectOutputHandler,
    ExpectResult,
    PortForwarder,
    Process,
    ProcessBase,
    ProcessLifecycleHandler,
    ProcessOutputHandler,
    ProcessStatus,
    ScpProcess,
    Serial,
    SerialSsh,
    SshProcess,
    TaktukProcess,
    get_process,
)

__all__ = [
    "STDERR",
    "STDOUT",
    "ExpectOutputHandler",
    "ExpectResult",
    "PortForwarder",
    "Process",
    "ProcessBase",
    "ProcessLifecycleHandler",
    "ProcessOutputHandler",
    "ProcessStatus",
    "ScpProcess",
    "Serial",
    "SerialSsh",
    "SshProcess",
    "TaktukProcess",
    "get_process",
]
