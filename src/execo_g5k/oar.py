"""OAR jobs: submit, inspect, wait for, and delete them, on site frontends (async).

Typical use (inside ``trio.run``)::

    from execo_g5k.oar import OarSubmission, oar_job, wait_oar_job_start, get_oar_job_nodes

    async with oar_job(OarSubmission("/cluster=2/nodes=4", walltime="1:00:00"), "nancy") as job:
        await wait_oar_job_start(job, check=True)
        nodes = await get_oar_job_nodes(job)
        ...                      # the job is deleted when the block ends, however it ends

The execo 2.8.2 functions are here with the same names (``oarsub``, ``oardel``,
``get_current_oar_jobs``, ``get_oar_job_info``, ``wait_oar_job_start``,
``get_oar_job_nodes``, ``get_oar_job_subnets``, ``get_oar_job_kavlan``, ``oarsubgrid``),
as coroutines. Dates are unix timestamps from OAR's JSON output: no time zone setting is
needed on either side.
"""

from ._oar import JobRef as JobRef
from ._oar import OarCommandError as OarCommandError
from ._oar import OarError as OarError
from ._oar import OarJobError as OarJobError
from ._oar import OarJobNotFound as OarJobNotFound
from ._oar import OarSubmitError as OarSubmitError
from ._oar import get_current_oar_jobs as get_current_oar_jobs
from ._oar import get_current_oar_jobs_info as get_current_oar_jobs_info
from ._oar import get_oar_job_info as get_oar_job_info
from ._oar import get_oar_job_kavlan as get_oar_job_kavlan
from ._oar import get_oar_job_nodes as get_oar_job_nodes
from ._oar import get_oar_job_subnets as get_oar_job_subnets
from ._oar import oar_job as oar_job
from ._oar import oar_jobs as oar_jobs
from ._oar import oardel as oardel
from ._oar import oarsub as oarsub
from ._oar import oarsubgrid as oarsubgrid
from ._oar import wait_oar_job_start as wait_oar_job_start
from ._oarparse import OAR_FINAL_STATES as OAR_FINAL_STATES
from ._oarparse import OarJob as OarJob
from ._oarparse import OarJobInfo as OarJobInfo
from ._oarparse import OarSubmission as OarSubmission
from ._oarparse import OarsubOutcome as OarsubOutcome
from ._oarparse import format_oar_date as format_oar_date
from ._oarparse import format_oar_duration as format_oar_duration
from ._oarparse import oar_date_to_unixts as oar_date_to_unixts
from ._oarparse import oar_duration_to_seconds as oar_duration_to_seconds
from ._oarparse import oarsub_argv as oarsub_argv
from ._oarparse import parse_g5k_subnets as parse_g5k_subnets
from ._oarparse import parse_kavlan as parse_kavlan
from ._oarparse import parse_oarstat_json as parse_oarstat_json
from ._oarparse import parse_oarsub_output as parse_oarsub_output

__all__ = [
    "OarSubmission",
    "OarJob",
    "OarJobInfo",
    "JobRef",
    "oarsub",
    "oardel",
    "oar_job",
    "oar_jobs",
    "oarsubgrid",
    "get_current_oar_jobs",
    "get_current_oar_jobs_info",
    "get_oar_job_info",
    "wait_oar_job_start",
    "get_oar_job_nodes",
    "get_oar_job_subnets",
    "get_oar_job_kavlan",
    "OAR_FINAL_STATES",
    "OarError",
    "OarSubmitError",
    "OarCommandError",
    "OarJobNotFound",
    "OarJobError",
    "OarsubOutcome",
    "format_oar_date",
    "format_oar_duration",
    "oar_date_to_unixts",
    "oar_duration_to_seconds",
    "oarsub_argv",
    "parse_oarsub_output",
    "parse_oarstat_json",
    "parse_g5k_subnets",
    "parse_kavlan",
]
