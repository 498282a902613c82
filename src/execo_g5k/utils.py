"""Where frontend commands run, kavlan helpers, port forwarding (execo's ``execo_g5k.utils``).

A site's commands run on its frontend over ssh (``lyon`` -> ``lyon.grid5000.fr`` through
``default_frontend_connection_params``), or here when there is no frontend to go to.
"""

from ._forwarding import G5kAutoPortForwarder as G5kAutoPortForwarder
from ._forwarding import inside_grid5000 as inside_grid5000
from ._frontend import get_default_frontend as get_default_frontend
from ._frontend import get_frontend_host as get_frontend_host
from ._frontend import get_kavlan_host_name as get_kavlan_host_name
from ._frontend import make_frontend_connection_params as make_frontend_connection_params
from ._kavlan import get_kavlan_ip_mac as get_kavlan_ip_mac
from ._kavlan import get_kavlan_network as get_kavlan_network
from ._kavlan import kavlan_free_addresses as kavlan_free_addresses
from ._kavlan import kavlan_network as kavlan_network
from ._kavlan import random_mac_addresses as random_mac_addresses

__all__ = [
    "G5kAutoPortForwarder",
    "inside_grid5000",
    "get_default_frontend",
    "get_frontend_host",
    "get_kavlan_host_name",
    "get_kavlan_ip_mac",
    "get_kavlan_network",
    "kavlan_free_addresses",
    "kavlan_network",
    "make_frontend_connection_params",
    "random_mac_addresses",
]
