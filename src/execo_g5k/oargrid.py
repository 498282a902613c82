"""oargrid (legacy, async): one reservation over several clusters with ``oargridsub``.

Grid'5000 no longer runs oargrid; prefer `execo_g5k.oar.oarsubgrid` or
`execo_g5k.oar.oar_jobs` (one OAR job per site). These keep old scripts working.
"""

from ._oargrid import OargridJobInfo as OargridJobInfo
from ._oargrid import get_current_oargrid_jobs as get_current_oargrid_jobs
from ._oargrid import get_oargrid_job_info as get_oargrid_job_info
from ._oargrid import get_oargrid_job_key as get_oargrid_job_key
from ._oargrid import get_oargrid_job_nodes as get_oargrid_job_nodes
from ._oargrid import get_oargrid_job_oar_jobs as get_oargrid_job_oar_jobs
from ._oargrid import oargriddel as oargriddel
from ._oargrid import oargridsub as oargridsub
from ._oargrid import oargridsub_argv as oargridsub_argv
from ._oargrid import parse_oargridstat as parse_oargridstat
from ._oargrid import parse_oargridsub_output as parse_oargridsub_output
from ._oargrid import wait_oargrid_job_start as wait_oargrid_job_start

__all__ = [
    "oargridsub",
    "oargriddel",
    "get_current_oargrid_jobs",
    "get_oargrid_job_info",
    "get_oargrid_job_oar_jobs",
    "wait_oargrid_job_start",
    "get_oargrid_job_nodes",
    "get_oargrid_job_key",
    "OargridJobInfo",
    "oargridsub_argv",
    "parse_oargridsub_output",
    "parse_oargridstat",
]
