"""Configuration: settings, connection parameters and the configuration file.

The names are those of :mod:`execo`; this module exists for execo 2.8.2 imports such as
``from execo.config import CHAINPUT``.
"""

from __future__ import annotations

from . import (
    CHAINPUT,
    SCP,
    SSH,
    TAKTUK,
    ConnectionParams,
    EffectiveConnectionParams,
    configuration,
    default_connection_params,
    default_frontend_connection_params,
    default_oarsh_oarcp_params,
    load_configuration,
    resolve_connection_params,
)

__all__ = [
    "CHAINPUT",
    "SCP",
    "SSH",
    "TAKTUK",
    "ConnectionParams",
    "EffectiveConnectionParams",
    "configuration",
    "default_connection_params",
    "default_frontend_connection_params",
    "default_oarsh_oarcp_params",
    "load_configuration",
    "resolve_connection_params",
]
