"""Grid'5000 layer of execo: REST API client, reference data, planning, charter, OAR jobs,
oargrid and kadeploy.

Names are defined in private modules and re-exported here and by the public modules
`execo_g5k.api`, `execo_g5k.planning`, `execo_g5k.charter`, `execo_g5k.config`,
`execo_g5k.oar`, `execo_g5k.oargrid`, `execo_g5k.kadeploy` and `execo_g5k.utils`. The
configuration is ``execo_g5k.g5k_configuration`` (execo's dict, settable at run time, over
the typed `G5kConfiguration`); importing this package reads no file.
``default_frontend_connection_params`` and ``default_oarsh_oarcp_params``
(defined in `execo.config`) are re-exported here and by `execo_g5k.config`.
"""

# ruff: noqa: I001  (the imports are grouped by layer, not sorted)
from typing import TYPE_CHECKING

# From execo (the layer below): connection parameters for frontends and oarsh.
from execo.config import default_frontend_connection_params as default_frontend_connection_params
from execo.config import default_oarsh_oarcp_params as default_oarsh_oarcp_params

from . import _deps as _deps  # first: a clear error when the g5k extra is missing

# Settings: the configuration (execo's dict over the typed G5kConfiguration) and its errors.
from .config import G5kConfigKeyError as G5kConfigKeyError
from .config import G5kConfiguration as G5kConfiguration
from .config import G5kSettings as G5kSettings
from .config import current_g5k_configuration as current_g5k_configuration
from .config import g5k_configuration as g5k_configuration
from .config import load_g5k_configuration as load_g5k_configuration
from .config import set_g5k_configuration as set_g5k_configuration

# The REST API: client, errors, reference data and the functions over it.
from .api import APIConnection as APIConnection
from .api import APIException as APIException
from .api import G5kApi as G5kApi
from .api import G5kApiError as G5kApiError
from .api import G5kAuthError as G5kAuthError
from .api import G5kConfigError as G5kConfigError
from .api import G5kDataError as G5kDataError
from .api import G5kHTTPError as G5kHTTPError
from .api import G5kNotFound as G5kNotFound
from .api import G5kReference as G5kReference
from .api import G5kTimeout as G5kTimeout
from .api import G5kTransportError as G5kTransportError
from .api import HostName as HostName
from .api import KeyringPasswordSource as KeyringPasswordSource
from .api import MetricPoint as MetricPoint
from .api import PasswordSource as PasswordSource
from .api import Queues as Queues
from .api import UnknownElementError as UnknownElementError
from .api import __all__ as _api_all
from .api import canonical_host_name as canonical_host_name
from .api import get_api_reference as get_api_reference
from .api import get_cluster_attributes as get_cluster_attributes
from .api import get_cluster_hosts as get_cluster_hosts
from .api import get_cluster_jobtypes as get_cluster_jobtypes
from .api import get_cluster_network_equipments as get_cluster_network_equipments
from .api import get_cluster_queues as get_cluster_queues
from .api import get_cluster_site as get_cluster_site
from .api import get_g5k_clusters as get_g5k_clusters
from .api import get_g5k_hosts as get_g5k_hosts
from .api import get_g5k_sites as get_g5k_sites
from .api import get_host_attributes as get_host_attributes
from .api import get_host_cluster as get_host_cluster
from .api import get_host_interface as get_host_interface
from .api import get_host_longname as get_host_longname
from .api import get_host_network_equipments as get_host_network_equipments
from .api import get_host_shortname as get_host_shortname
from .api import get_host_site as get_host_site
from .api import get_hosts_metric as get_hosts_metric
from .api import get_network_equipment_attributes as get_network_equipment_attributes
from .api import get_network_equipment_site as get_network_equipment_site
from .api import get_resource_attributes as get_resource_attributes
from .api import get_site_attributes as get_site_attributes
from .api import get_site_clusters as get_site_clusters
from .api import get_site_hosts as get_site_hosts
from .api import get_site_network_equipments as get_site_network_equipments
from .api import group_hosts as group_hosts
from .api import parse_host_name as parse_host_name

# The usage charter: its periods and French holidays (pure computation).
from .charter import __all__ as _charter_all
from .charter import charter_periods as charter_periods
from .charter import easter_sunday as easter_sunday
from .charter import french_holidays as french_holidays
from .charter import get_next_charter_period as get_next_charter_period

# Jobs: OAR (oarsub, oarstat, oardel) through the frontends...
from .oar import JobRef as JobRef
from .oar import OAR_FINAL_STATES as OAR_FINAL_STATES
from .oar import OarCommandError as OarCommandError
from .oar import OarError as OarError
from .oar import OarJob as OarJob
from .oar import OarJobError as OarJobError
from .oar import OarJobInfo as OarJobInfo
from .oar import OarJobNotFound as OarJobNotFound
from .oar import OarSubmission as OarSubmission
from .oar import OarSubmitError as OarSubmitError
from .oar import OarsubOutcome as OarsubOutcome
from .oar import __all__ as _oar_all
from .oar import format_oar_date as format_oar_date
from .oar import format_oar_duration as format_oar_duration
from .oar import get_current_oar_jobs as get_current_oar_jobs
from .oar import get_current_oar_jobs_info as get_current_oar_jobs_info
from .oar import get_oar_job_info as get_oar_job_info
from .oar import get_oar_job_kavlan as get_oar_job_kavlan
from .oar import get_oar_job_nodes as get_oar_job_nodes
from .oar import get_oar_job_subnets as get_oar_job_subnets
from .oar import oar_date_to_unixts as oar_date_to_unixts
from .oar import oar_duration_to_seconds as oar_duration_to_seconds
from .oar import oar_job as oar_job
from .oar import oar_jobs as oar_jobs
from .oar import oardel as oardel
from .oar import oarsub as oarsub
from .oar import oarsub_argv as oarsub_argv
from .oar import oarsubgrid as oarsubgrid
from .oar import parse_g5k_subnets as parse_g5k_subnets
from .oar import parse_kavlan as parse_kavlan
from .oar import parse_oarstat_json as parse_oarstat_json
from .oar import parse_oarsub_output as parse_oarsub_output
from .oar import wait_oar_job_start as wait_oar_job_start

# ...and oargrid, over several sites.
from .oargrid import OargridJobInfo as OargridJobInfo
from .oargrid import __all__ as _oargrid_all
from .oargrid import get_current_oargrid_jobs as get_current_oargrid_jobs
from .oargrid import get_oargrid_job_info as get_oargrid_job_info
from .oargrid import get_oargrid_job_key as get_oargrid_job_key
from .oargrid import get_oargrid_job_nodes as get_oargrid_job_nodes
from .oargrid import get_oargrid_job_oar_jobs as get_oargrid_job_oar_jobs
from .oargrid import oargriddel as oargriddel
from .oargrid import oargridsub as oargridsub
from .oargrid import oargridsub_argv as oargridsub_argv
from .oargrid import parse_oargridstat as parse_oargridstat
from .oargrid import parse_oargridsub_output as parse_oargridsub_output
from .oargrid import wait_oargrid_job_start as wait_oargrid_job_start

# Planning: availability of resources over time, slots, the planning picture.
from .planning import Availability as Availability
from .planning import Interval as Interval
from .planning import JOB_END_MARGIN as JOB_END_MARGIN
from .planning import JobSpec as JobSpec
from .planning import Planning as Planning
from .planning import SitePlanning as SitePlanning
from .planning import Slot as Slot
from .planning import USABLE_NODE_STATES as USABLE_NODE_STATES
from .planning import __all__ as _planning_all
from .planning import availability_from_busy as availability_from_busy
from .planning import compute_slots as compute_slots
from .planning import distribute_hosts as distribute_hosts
from .planning import draw_planning as draw_planning
from .planning import find_first_slot as find_first_slot
from .planning import find_free_slot as find_free_slot
from .planning import find_max_slot as find_max_slot
from .planning import g5k_charter_time as g5k_charter_time
from .planning import get_job_by_name as get_job_by_name
from .planning import get_jobs_specs as get_jobs_specs
from .planning import get_planning as get_planning
from .planning import kavlan_kind as kavlan_kind
from .planning import make_jobs_specs as make_jobs_specs
from .planning import merge_intervals as merge_intervals
from .planning import planning_figure as planning_figure
from .planning import planning_from_status as planning_from_status
from .planning import planning_png as planning_png

# Deployment: kadeploy3 (Kadeployer, deploy) and the API's deployments; consoles.
from .kadeploy import API_FINAL_STATUSES as API_FINAL_STATUSES
from .kadeploy import CheckEnough as CheckEnough
from .kadeploy import DeployResult as DeployResult
from .kadeploy import Deployment as Deployment
from .kadeploy import KaconsoleProcess as KaconsoleProcess
from .kadeploy import KadeployReportParser as KadeployReportParser
from .kadeploy import Kadeployer as Kadeployer
from .kadeploy import __all__ as _kadeploy_all
from .kadeploy import api_deploy as api_deploy
from .kadeploy import deploy as deploy
from .kadeploy import deployment_request as deployment_request
from .kadeploy import kadeploy as kadeploy
from .kadeploy import kadeploy_argv as kadeploy_argv
from .kadeploy import parse_kadeploy_output as parse_kadeploy_output
from .kadeploy import read_api_result as read_api_result

# Frontends, port forwarding and kavlan, on top of the above.
from .utils import G5kAutoPortForwarder as G5kAutoPortForwarder
from .utils import __all__ as _utils_all
from .utils import get_default_frontend as get_default_frontend
from .utils import get_frontend_host as get_frontend_host
from .utils import get_kavlan_host_name as get_kavlan_host_name
from .utils import get_kavlan_ip_mac as get_kavlan_ip_mac
from .utils import get_kavlan_network as get_kavlan_network
from .utils import inside_grid5000 as inside_grid5000
from .utils import kavlan_free_addresses as kavlan_free_addresses
from .utils import kavlan_network as kavlan_network
from .utils import make_frontend_connection_params as make_frontend_connection_params
from .utils import random_mac_addresses as random_mac_addresses

# execo_g5k.topology needs networkx (the ``topology`` extra): imported when first used.
_TOPOLOGY_NAMES = ("G5kGraph", "g5k_graph", "treemap")
if TYPE_CHECKING:
    from .topology import G5kGraph as G5kGraph
    from .topology import g5k_graph as g5k_graph
    from .topology import treemap as treemap

__all__ = list(
    dict.fromkeys(
        [
            *_api_all,
            *_planning_all,
            *_charter_all,
            *_oar_all,
            *_oargrid_all,
            *_kadeploy_all,
            *_utils_all,
            "default_frontend_connection_params",
            "default_oarsh_oarcp_params",
            "G5kConfiguration",
            "G5kConfigKeyError",
            "G5kSettings",
            "g5k_configuration",
            "current_g5k_configuration",
            "load_g5k_configuration",
            "set_g5k_configuration",
            *_TOPOLOGY_NAMES,
        ]
    )
)


def __getattr__(name: str) -> object:
    if name in _TOPOLOGY_NAMES:
        try:
            from . import topology
        except ImportError as e:
            raise ImportError(
                f"execo_g5k.{name} needs networkx: pip install 'execo[topology]' ({e})"
            ) from e
        return getattr(topology, name)
    raise AttributeError(f"module 'execo_g5k' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_TOPOLOGY_NAMES))
