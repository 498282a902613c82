"""Configuration of the Grid'5000 layer.

``g5k_configuration`` is execo's dict, settable at run time as in execo 2.8.2::

    from execo_g5k import g5k_configuration
    g5k_configuration["oar_job_key_file"] = "/home/jdoe/.ssh/id_ed25519"   # later calls use it

Each assignment is checked (an unknown key or a value of the wrong type is a
`G5kConfigError` naming the key) and installs a new typed, frozen `G5kConfiguration`:
``current_g5k_configuration()`` (or ``g5k_configuration.current``) is the value in force,
with its attributes typed. Importing execo_g5k reads no file: call `load_g5k_configuration`
(``~/.execo.conf.py`` by default) or `set_g5k_configuration` explicitly. Every API object
also takes an explicit ``config=``.

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

from ._config import G5kConfigKeyError as G5kConfigKeyError
from ._config import G5kConfiguration as G5kConfiguration
from ._config import G5kSettings as G5kSettings
from ._config import default_config_path as default_config_path
from ._config import read_g5k_configuration as read_g5k_configuration

if TYPE_CHECKING:
    import os

__all__ = [
    "G5kConfiguration",
    "G5kConfigKeyError",
    "G5kSettings",
    "g5k_configuration",
    "current_g5k_configuration",
    "load_g5k_configuration",
    "set_g5k_configuration",
    "read_g5k_configuration",
    "default_config_path",
    "default_frontend_connection_params",
    "default_oarsh_oarcp_params",
]

g5k_configuration: G5kSettings = G5kSettings()
"""execo's dict: read and set keys at run time (see the module docstring)."""


def current_g5k_configuration() -> G5kConfiguration:
    """The `G5kConfiguration` in force (what every call of the Grid'5000 layer reads)."""
    return g5k_configuration.current


def set_g5k_configuration(config: G5kConfiguration) -> G5kConfiguration:
    """Installs `config` as the configuration in force; returns the previous one."""
    return g5k_configuration.install(config)


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
