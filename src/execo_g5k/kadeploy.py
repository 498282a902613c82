"""kadeploy3 from Python (async): `Deployment`, `Kadeployer`, `kadeploy`, `deploy` with
checks and retries, deployment through the REST API, and `KaconsoleProcess`.

Typical use::

    result = await deploy(Deployment(nodes, env_name="debian11-min"), num_tries=2)
    deployed, undeployed = result           # lists of Hosts
"""

from ._api_deploy import API_FINAL_STATUSES as API_FINAL_STATUSES
from ._api_deploy import api_deploy as api_deploy
from ._api_deploy import deployment_request as deployment_request
from ._api_deploy import read_api_result as read_api_result
from ._deploy import CheckEnough as CheckEnough
from ._deploy import deploy as deploy
from ._kaconsole import KaconsoleProcess as KaconsoleProcess
from ._kadeploy import Deployment as Deployment
from ._kadeploy import DeployResult as DeployResult
from ._kadeploy import KadeployReportParser as KadeployReportParser
from ._kadeploy import kadeploy_argv as kadeploy_argv
from ._kadeploy import parse_kadeploy_output as parse_kadeploy_output
from ._kadeployer import Kadeployer as Kadeployer
from ._kadeployer import kadeploy as kadeploy

__all__ = [
    "Deployment",
    "DeployResult",
    "Kadeployer",
    "KadeployReportParser",
    "KaconsoleProcess",
    "kadeploy",
    "deploy",
    "CheckEnough",
    "api_deploy",
    "deployment_request",
    "read_api_result",
    "API_FINAL_STATUSES",
    "kadeploy_argv",
    "parse_kadeploy_output",
]
