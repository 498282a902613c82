"""kadeploy3 from Python (async): `Deployment`, `kadeploy`, and `deploy` with checks.

Typical use::

    result = await deploy(Deployment(nodes, env_name="debian11-min"), num_tries=2)
    deployed, undeployed = result           # lists of Hosts
"""

from ._kadeploy import Deployment as Deployment
from ._kadeploy import DeployResult as DeployResult
from ._kadeploy import deploy as deploy
from ._kadeploy import kadeploy as kadeploy
from ._kadeploy import kadeploy_argv as kadeploy_argv
from ._kadeploy import parse_kadeploy_output as parse_kadeploy_output

__all__ = [
    "Deployment",
    "DeployResult",
    "kadeploy",
    "deploy",
    "kadeploy_argv",
    "parse_kadeploy_output",
]
