"""Grid'5000 layer of execo: REST API, reference data, planning.

The names below are re-exported from `execo_g5k.api`, `execo_g5k.config`,
`execo_g5k.planning` and `execo_g5k.charter`; the OAR and kadeploy layers add theirs.
"""

from .api import *  # noqa: F403
from .api import __all__ as _api_all
from .config import G5kConfiguration as G5kConfiguration
from .config import load_g5k_configuration as load_g5k_configuration
from .config import set_g5k_configuration as set_g5k_configuration

__all__ = [
    *_api_all,
    "G5kConfiguration",
    "load_g5k_configuration",
    "set_g5k_configuration",
]
