"""Configuration of the Grid'5000 layer.

``g5k_configuration`` is the `G5kConfiguration` in force. Importing execo_g5k reads no file:
call `load_g5k_configuration` (``~/.execo.conf.py`` by default) or `set_g5k_configuration`
explicitly. Read it as ``execo_g5k.config.g5k_configuration`` (a ``from`` import keeps the
value of the moment). Every API object also takes an explicit ``config=``.

Example of ``~/.execo.conf.py``::

    g5k_configuration = {
        "api_username": "jdoe",        # the password is read from the keyring
        "default_frontend": "lyon",
        "oar_job_key_file": "/home/jdoe/.ssh/id_ed25519",
    }
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from execo.config import default_frontend_connection_params as default_frontend_connection_params
from execo.config import default_oarsh_oarcp_params as default_oarsh_oarcp_params

from ._config import G5kConfiguration as G5kConfiguration
from ._config import default_config_path as default_config_path
from ._config import read_g5k_configuration as read_g5k_configuration

if TYPE_CHECKING:
    import os

__all__ = [
    "G5kConfiguration",
    "g5k_configuration",
    "load_g5k_configuration",
    "set_g5k_configuration",
    "read_g5k_configuration",
    "default_config_path",
    "default_frontend_connection_params",
    "default_oarsh_oarcp_params",
]

g5k_configuration: G5kConfiguration = G5kConfiguration()


def set_g5k_configuration(config: G5kConfiguration) -> G5kConfiguration:
    """Installs `config` as ``g5k_configuration``; returns the previous one."""
    global g5k_configuration
    previous = g5k_configuration
    g5k_configuration = config
    return previous


def load_g5k_configuration(path: str | os.PathLike[str] | None = None) -> G5kConfiguration:
    """Reads an execo configuration file and installs the result.

    Args:
        path: The file; None means ``~/.execo.conf.py``. A missing file keeps the defaults.

    Returns:
        The configuration now in force.

    Raises:
        G5kConfigError: See `read_g5k_configuration`.
    """
    config = read_g5k_configuration(path)
    set_g5k_configuration(config)
    return config
