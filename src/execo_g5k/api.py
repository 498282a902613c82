"""The Grid'5000 REST API: the `G5kApi` client, the reference-data queries, host names.

Everything here is also exported by ``execo_g5k``. See ``docs/g5k_api.md``.
"""

from ._apiconnection import APIConnection as APIConnection
from ._apiconnection import APIException as APIException
from ._client import G5kApi as G5kApi
from ._client import KeyringPasswordSource as KeyringPasswordSource
from ._client import PasswordSource as PasswordSource
from ._errors import G5kApiError as G5kApiError
from ._errors import G5kAuthError as G5kAuthError
from ._errors import G5kConfigError as G5kConfigError
from ._errors import G5kDataError as G5kDataError
from ._errors import G5kHTTPError as G5kHTTPError
from ._errors import G5kNotFound as G5kNotFound
from ._errors import G5kTimeout as G5kTimeout
from ._errors import G5kTransportError as G5kTransportError
from ._errors import UnknownElementError as UnknownElementError
from ._functions import MetricPoint as MetricPoint
from ._functions import get_api_reference as get_api_reference
from ._functions import get_cluster_attributes as get_cluster_attributes
from ._functions import get_cluster_hosts as get_cluster_hosts
from ._functions import get_cluster_jobtypes as get_cluster_jobtypes
from ._functions import get_cluster_network_equipments as get_cluster_network_equipments
from ._functions import get_cluster_queues as get_cluster_queues
from ._functions import get_cluster_site as get_cluster_site
from ._functions import get_g5k_clusters as get_g5k_clusters
from ._functions import get_g5k_hosts as get_g5k_hosts
from ._functions import get_g5k_sites as get_g5k_sites
from ._functions import get_host_attributes as get_host_attributes
from ._functions import get_host_longname as get_host_longname
from ._functions import get_host_network_equipments as get_host_network_equipments
from ._functions import get_host_site as get_host_site
from ._functions import get_hosts_metric as get_hosts_metric
from ._functions import get_network_equipment_attributes as get_network_equipment_attributes
from ._functions import get_network_equipment_site as get_network_equipment_site
from ._functions import get_resource_attributes as get_resource_attributes
from ._functions import get_site_attributes as get_site_attributes
from ._functions import get_site_clusters as get_site_clusters
from ._functions import get_site_hosts as get_site_hosts
from ._functions import get_site_network_equipments as get_site_network_equipments
from ._functions import group_hosts as group_hosts
from ._hostnames import HostName as HostName
from ._hostnames import canonical_host_name as canonical_host_name
from ._hostnames import get_host_cluster as get_host_cluster
from ._hostnames import get_host_interface as get_host_interface
from ._hostnames import get_host_shortname as get_host_shortname
from ._hostnames import parse_host_name as parse_host_name
from ._reference import G5kReference as G5kReference
from ._reference import Queues as Queues

__all__ = [
    "G5kApi",
    "APIConnection",
    "APIException",
    "PasswordSource",
    "KeyringPasswordSource",
    "G5kReference",
    "Queues",
    "G5kApiError",
    "G5kTransportError",
    "G5kTimeout",
    "G5kHTTPError",
    "G5kAuthError",
    "G5kNotFound",
    "G5kDataError",
    "G5kConfigError",
    "UnknownElementError",
    "get_api_reference",
    "get_g5k_sites",
    "get_site_clusters",
    "get_site_hosts",
    "get_site_attributes",
    "get_site_network_equipments",
    "get_g5k_clusters",
    "get_cluster_site",
    "get_cluster_hosts",
    "get_cluster_attributes",
    "get_cluster_queues",
    "get_cluster_jobtypes",
    "get_cluster_network_equipments",
    "get_g5k_hosts",
    "get_host_site",
    "get_host_cluster",
    "get_host_attributes",
    "get_host_network_equipments",
    "get_host_shortname",
    "get_host_longname",
    "get_host_interface",
    "canonical_host_name",
    "parse_host_name",
    "HostName",
    "get_network_equipment_attributes",
    "get_network_equipment_site",
    "group_hosts",
    "get_resource_attributes",
    "MetricPoint",
    "get_hosts_metric",
]
