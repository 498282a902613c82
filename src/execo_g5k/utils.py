"""Where frontend commands run (execo's ``execo_g5k.utils``).

A site's commands run on its frontend over ssh (``lyon`` -> ``lyon.grid5000.fr`` through
``default_frontend_connection_params``), or here when there is no frontend to go to.
"""

from ._frontend import get_default_frontend as get_default_frontend
from ._frontend import get_frontend_host as get_frontend_host
from ._frontend import get_kavlan_host_name as get_kavlan_host_name
from ._frontend import make_frontend_connection_params as make_frontend_connection_params

__all__ = [
    "get_default_frontend",
    "get_frontend_host",
    "get_kavlan_host_name",
    "make_frontend_connection_params",
]
