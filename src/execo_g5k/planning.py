"""Resource planning: who uses which node when, free slots, and jobs to ask for them.

Typical use (inside ``trio.run``)::

    planning = await get_planning(["lyon", "nancy"])
    slots = compute_slots(planning, walltime=3600)
    slot = find_first_slot(slots, {"grid5000": 0})
    wanted = distribute_hosts(slot, {"grid5000": 0}, ratio=0.8)
    specs = await get_jobs_specs(wanted, name="my-xp")   # one JobSpec per site

Everything but `get_planning`, `get_jobs_specs` and `get_job_by_name` is pure and never
changes its arguments.
"""

from ._charter import g5k_charter_time as g5k_charter_time
from ._intervals import Availability as Availability
from ._intervals import Interval as Interval
from ._intervals import Planning as Planning
from ._intervals import SitePlanning as SitePlanning
from ._intervals import availability_from_busy as availability_from_busy
from ._intervals import merge_intervals as merge_intervals
from ._jobspecs import JobSpec as JobSpec
from ._jobspecs import make_jobs_specs as make_jobs_specs
from ._planning import JOB_END_MARGIN as JOB_END_MARGIN
from ._planning import USABLE_NODE_STATES as USABLE_NODE_STATES
from ._planning import get_job_by_name as get_job_by_name
from ._planning import get_jobs_specs as get_jobs_specs
from ._planning import get_planning as get_planning
from ._planning import planning_from_status as planning_from_status
from ._plot import draw_planning as draw_planning
from ._plot import planning_figure as planning_figure
from ._plot import planning_png as planning_png
from ._slots import Slot as Slot
from ._slots import compute_slots as compute_slots
from ._slots import distribute_hosts as distribute_hosts
from ._slots import find_first_slot as find_first_slot
from ._slots import find_free_slot as find_free_slot
from ._slots import find_max_slot as find_max_slot
from ._slots import kavlan_kind as kavlan_kind

__all__ = [
    "get_planning",
    "planning_from_status",
    "Planning",
    "SitePlanning",
    "Availability",
    "Interval",
    "merge_intervals",
    "availability_from_busy",
    "JOB_END_MARGIN",
    "USABLE_NODE_STATES",
    "compute_slots",
    "Slot",
    "find_first_slot",
    "find_max_slot",
    "find_free_slot",
    "distribute_hosts",
    "kavlan_kind",
    "get_jobs_specs",
    "make_jobs_specs",
    "JobSpec",
    "get_job_by_name",
    "g5k_charter_time",
    "planning_png",
    "planning_figure",
    "draw_planning",
]
