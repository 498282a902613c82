"""oargrid: one advance reservation over several clusters or sites (legacy; async).

oargrid is gone from Grid'5000 (execo 2.8.2 removed it); `oarsubgrid` and `oar_jobs` do the
same with one OAR job per site. These functions keep the scripts that used it working.
``oargridstat`` prints local dates of the frontend; commands run with ``TZ=UTC0`` (see
`execo_g5k.utils`), so they are read as UTC.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Iterable, Sequence

import anyio

from execo import Host
from execo._core._config import ConnectionParamsLike
from execo._core._time import DateLike, DurationLike
from execo._core._util import UNSET, Unset

from . import config as _config_module
from ._hostnames import natural_sort_key
from ._oar import OarCommandError, _run
from ._oarparse import (
    OarJob,
    OarSubmission,
    format_oar_date,
    format_oar_duration,
    oar_date_to_unixts,
    oar_duration_to_seconds,
)

__all__ = [
    "OargridJobInfo",
    "get_current_oargrid_jobs",
    "get_oargrid_job_info",
    "get_oargrid_job_key",
    "get_oargrid_job_nodes",
    "get_oargrid_job_oar_jobs",
    "oargriddel",
    "oargridsub",
    "oargridsub_argv",
    "parse_oargridstat",
    "parse_oargridsub_output",
    "wait_oargrid_job_start",
]

logger = logging.getLogger("execo_g5k.oargrid")


def oargridsub_argv(
    job_specs: Sequence[tuple[OarSubmission, str]],
    reservation_date: DateLike = None,
    walltime: DurationLike = None,
    job_type: str | None = None,
    queue: str | None = None,
    directory: str | None = None,
    additional_options: str | Sequence[str] | None = None,
    *,
    key_file: str | None = None,
) -> list[str]:
    """The ``oargridsub`` argv (pure): options, then ``alias:rdef=...[:type=..],...``.

    Each `OarSubmission` gives the cluster's ``rdef`` (resources), ``type`` (its first job
    type), ``prop`` (sql_properties) and ``name``; its other fields are ignored. The
    resource requests stay one argv word: no shell quoting hack is needed.
    """
    argv = ["oargridsub", "-v"]
    if key_file:
        argv += ["-i", key_file]
    if reservation_date is not None:
        argv += ["-s", format_oar_date(reservation_date)]
    if queue:
        argv += ["-q", queue]
    if job_type:
        argv += ["-t", job_type]
    if walltime is not None:
        argv += ["-w", format_oar_duration(walltime)]
    if directory:
        argv += ["-d", directory]
    if isinstance(additional_options, str):
        import shlex

        argv += shlex.split(additional_options)
    elif additional_options:
        argv += list(additional_options)
    clusters = []
    for submission, alias in job_specs:
        if not submission.resource_request:
            raise ValueError(f"the submission for {alias!r} has no resources")
        part = f"{alias}:rdef={submission.resource_request}"
        if submission.job_types:
            part += f":type={submission.job_types[0]}"
        if submission.sql_properties:
            part += f":prop={submission.sql_properties}"
        if submission.name:
            part += f":name={submission.name}"
        clusters.append(part)
    if not clusters:
        raise ValueError("oargridsub needs at least one (submission, cluster) pair")
    argv.append(",".join(clusters))
    return argv


_GRID_ID = re.compile(r"^\[OAR_GRIDSUB\] Grid reservation id = (\d+)\s*$", re.MULTILINE)
_GRID_KEY = re.compile(r"^\[OAR_GRIDSUB\] SSH KEY : (\S+)\s*$", re.MULTILINE)


def parse_oargridsub_output(output: str) -> tuple[int | None, str | None]:
    """``(grid job id, ssh key file)`` from ``oargridsub -v``; ``(None, None)`` on failure."""
    m = _GRID_ID.search(output)
    if m is None:
        return None, None
    key = _GRID_KEY.search(output)
    return int(m.group(1)), key.group(1) if key else None


@dataclasses.dataclass(frozen=True, slots=True)
class OargridJobInfo:
    """One grid job as ``oargridstat ID`` shows it.

    Attributes:
        grid_job_id: The grid job id.
        start_date: Start timestamp (None if not shown).
        walltime: Seconds (None if not shown).
        user: Owner.
        oar_jobs: The OAR jobs, as ``(oar job id, cluster alias)`` pairs.
    """

    grid_job_id: int
    start_date: float | None = None
    walltime: float | None = None
    user: str | None = None
    oar_jobs: tuple[tuple[int, str], ...] = ()

    def __getitem__(self, key: str) -> object:
        """execo's dict keys: ``start_date``, ``walltime``, ``user``."""
        if key not in ("start_date", "walltime", "user") or getattr(self, key) is None:
            raise KeyError(key)
        return getattr(self, key)


_RESERVATION = re.compile(r"^Reservation # (\d+):", re.MULTILINE)


def parse_oargridstat(output: str) -> list[OargridJobInfo]:
    """The grid jobs of an ``oargridstat [ID]`` output (dates read as UTC)."""
    text = output.replace("\r", "")
    starts = [(m.start(), int(m.group(1))) for m in _RESERVATION.finditer(text)]
    infos = []
    for index, (offset, grid_id) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(text)
        block = text[offset:end]
        start = re.search(r"start date : (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", block)
        walltime = re.search(r"walltime : (\d+:\d?\d:\d?\d)", block)
        user = re.search(r"user : (\S+)", block)
        jobs = tuple(
            (int(m.group(2)), m.group(1))
            for m in re.finditer(r"^\t+([\w.-]+) --> (\d+)", block, re.MULTILINE)
        )
        infos.append(
            OargridJobInfo(
                grid_job_id=grid_id,
                start_date=oar_date_to_unixts(start.group(1)) if start else None,
                walltime=oar_duration_to_seconds(walltime.group(1)) if walltime else None,
                user=user.group(1) if user else None,
                oar_jobs=jobs,
            )
        )
    return infos


async def oargridsub(
    job_specs: Iterable[tuple[OarSubmission, str]],
    reservation_date: DateLike = None,
    walltime: DurationLike = None,
    job_type: str | None = None,
    queue: str | None = None,
    directory: str | None = None,
    additional_options: str | Sequence[str] | None = None,
    *,
    frontend: str | None = None,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
) -> tuple[int | None, str | None]:
    """Submits a grid job (``oargridsub``) on one frontend.

    Args:
        job_specs: ``(OarSubmission, cluster alias)`` pairs; see `oargridsub_argv`.
        reservation_date, walltime, job_type, queue, directory, additional_options: For
            the whole grid job.
        frontend: Where to run oargridsub (None: the default frontend).
        frontend_connection_params: Overrides of `default_frontend_connection_params`.
        timeout: Seconds; UNSET means the configured default.

    Returns:
        ``(grid job id, ssh key file)``, or ``(None, None)`` on failure (logged), as in
        execo.
    """
    argv = oargridsub_argv(
        list(job_specs),
        reservation_date,
        walltime,
        job_type,
        queue,
        directory,
        additional_options,
        key_file=_config_module.current_g5k_configuration().oar_job_key_file,
    )
    process = await _run(argv, frontend, frontend_connection_params, timeout, check=False)
    grid_id, key = parse_oargridsub_output(process.stdout)
    if grid_id is None or not process.ok:
        logger.warning("oargridsub failed: %s", OarCommandError(process))
        return None, None
    return grid_id, key


async def oargriddel(
    job_ids: Iterable[int],
    *,
    frontend: str | None = None,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
) -> None:
    """Deletes grid jobs, in parallel; errors are ignored (logged at DEBUG)."""

    async def one(grid_id: int) -> None:
        process = await _run(
            ["oargriddel", str(grid_id)], frontend, frontend_connection_params, timeout, check=False
        )
        if not process.ok:
            logger.debug("oargriddel %s: %s", grid_id, process.stdout + process.stderr)

    async with anyio.create_task_group() as tg:
        for grid_id in job_ids:
            tg.start_soon(one, grid_id)


async def get_current_oargrid_jobs(
    start_between: tuple[DateLike, DateLike] | None = None,
    end_between: tuple[DateLike, DateLike] | None = None,
    *,
    frontend: str | None = None,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
) -> list[int]:
    """The current user's grid job ids (``oargridstat``), optionally filtered by dates."""
    from ._oar import _in_range

    process = await _run(["oargridstat"], frontend, frontend_connection_params, timeout)
    infos = parse_oargridstat(process.stdout)
    if start_between or end_between:
        infos = [
            await get_oargrid_job_info(
                info.grid_job_id,
                frontend=frontend,
                frontend_connection_params=frontend_connection_params,
                timeout=timeout,
            )
            for info in infos
        ]
    out = []
    for info in infos:
        end = None
        if info.start_date is not None and info.walltime is not None:
            end = info.start_date + info.walltime
        if _in_range(info.start_date, start_between) and _in_range(end, end_between):
            out.append(info.grid_job_id)
    return out


async def get_oargrid_job_info(
    oargrid_job_id: int,
    *,
    frontend: str | None = None,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
) -> OargridJobInfo:
    """What ``oargridstat ID`` says (start date, walltime, user, OAR jobs).

    Raises:
        OarCommandError: oargridstat failed or does not show the job.
    """
    process = await _run(
        ["oargridstat", str(oargrid_job_id)], frontend, frontend_connection_params, timeout
    )
    for info in parse_oargridstat(process.stdout):
        if info.grid_job_id == oargrid_job_id:
            return info
    raise OarCommandError(process, f"oargridstat does not show grid job {oargrid_job_id}")


async def get_oargrid_job_oar_jobs(
    oargrid_job_id: int,
    *,
    frontend: str | None = None,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
) -> list[OarJob]:
    """The grid job's OAR jobs, as `OarJob` (the cluster alias as site, as in execo)."""
    info = await get_oargrid_job_info(
        oargrid_job_id,
        frontend=frontend,
        frontend_connection_params=frontend_connection_params,
        timeout=timeout,
    )
    return [OarJob(job_id, alias) for job_id, alias in info.oar_jobs]


async def wait_oargrid_job_start(
    oargrid_job_id: int,
    *,
    frontend: str | None = None,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
) -> float:
    """Sleeps until the grid job's start date (as execo: no state check); returns it."""
    info = await get_oargrid_job_info(
        oargrid_job_id,
        frontend=frontend,
        frontend_connection_params=frontend_connection_params,
        timeout=timeout,
    )
    start = info.start_date if info.start_date is not None else time.time()
    await anyio.sleep(max(0.0, start - time.time()))
    return start


async def get_oargrid_job_nodes(
    oargrid_job_id: int,
    *,
    frontend: str | None = None,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
) -> list[Host]:
    """The grid job's hosts (``oargridstat -w -l ID``), unique and naturally sorted.

    (execo returned them in set order.)
    """
    argv = ["oargridstat", "-w", "-l", str(oargrid_job_id)]
    process = await _run(argv, frontend, frontend_connection_params, timeout)
    names = set(process.stdout.split())
    return [Host(name) for name in sorted(names, key=natural_sort_key)]


async def get_oargrid_job_key(
    oargrid_job_id: int,
    *,
    frontend: str | None = None,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
) -> str:
    """The grid job's ssh key file: ``/tmp/oargrid/oargrid_ssh_key_<user>_<id>``."""
    info = await get_oargrid_job_info(
        oargrid_job_id,
        frontend=frontend,
        frontend_connection_params=frontend_connection_params,
        timeout=timeout,
    )
    return f"/tmp/oargrid/oargrid_ssh_key_{info.user}_{oargrid_job_id}"
