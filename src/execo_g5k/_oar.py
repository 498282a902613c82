"""The OAR commands, async: submit, delete, inspect and wait for jobs on site frontends.

Each function runs OAR's own commands (``oarsub``, ``oarstat -J``, ``oardel``) on the
frontend of the job's site (see `execo_g5k.utils.get_frontend_host`), several sites in
parallel, and parses their JSON output. Errors::

    OarError                  root of the OAR layer's errors
    ├── OarSubmitError        oarsub refused or failed (.failures: submission, site, reason)
    ├── OarCommandError       another OAR command failed (.process has its full output)
    ├── OarJobNotFound        oarstat does not know the job (also a LookupError)
    └── OarJobError           the job ended (Error/Terminated) instead of running (.info)
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import TypeAlias

import anyio

from execo import ExecoError, Host
from execo._core._config import ConnectionParamsLike
from execo._core._process import ProcessBase
from execo._core._time import DateLike, DurationLike
from execo._core._util import UNSET, Unset

from . import config as _config_module
from ._frontend import frontend_process, resolve_timeout
from ._oarparse import (
    OarJob,
    OarJobInfo,
    OarSubmission,
    oarsub_argv,
    parse_g5k_subnets,
    parse_kavlan,
    parse_oarstat_json,
    parse_oarsub_output,
)

__all__ = [
    "JobRef",
    "OarCommandError",
    "OarError",
    "OarJobError",
    "OarJobNotFound",
    "OarSubmitError",
    "get_current_oar_jobs",
    "get_oar_job_info",
    "get_oar_job_kavlan",
    "get_oar_job_nodes",
    "get_oar_job_subnets",
    "oar_job",
    "oar_jobs",
    "oardel",
    "oarsub",
    "oarsubgrid",
    "wait_oar_job_start",
]

logger = logging.getLogger("execo_g5k.oar")

JobRef: TypeAlias = int | OarJob | tuple[int, str | None]
"""A job: its id (on the default frontend), an `OarJob`, or an execo ``(id, site)`` pair."""

SubmissionSpec: TypeAlias = OarSubmission | tuple[OarSubmission, str | None]

_DELETE_TIMEOUT = 60.0  # bound of the shielded cleanup oardel


class OarError(ExecoError):
    """Root of the OAR layer's errors."""


class OarSubmitError(OarError):
    """Some submissions failed; with all-or-nothing semantics the others were deleted.

    Attributes:
        failures: ``(submission, site, reason)`` for each failed submission.
        deleted: Jobs that were submitted, then deleted because others failed.
    """

    def __init__(
        self,
        failures: Sequence[tuple[OarSubmission, str | None, str]],
        deleted: Sequence[OarJob] = (),
    ) -> None:
        self.failures = list(failures)
        self.deleted = list(deleted)
        lines = [f"{len(self.failures)} OAR submission(s) failed:"]
        lines += [f"  on {site or 'the default frontend'}: {why}" for _, site, why in failures]
        if self.deleted:
            lines.append(f"  deleted the other job(s): {[j.job_id for j in self.deleted]}")
        super().__init__("\n".join(lines))


class OarCommandError(OarError):
    """An OAR command failed or printed what could not be parsed.

    Attributes:
        process: The process, with its command, exit code, stdout and stderr.
    """

    def __init__(self, process: ProcessBase, why: str | None = None) -> None:
        self.process = process
        detail = why or process.failure_summary()
        output = (process.stdout + process.stderr).strip()
        super().__init__(f"{detail}\n{output[-2000:]}" if output else detail)


class OarJobNotFound(OarError, LookupError):
    """oarstat does not know the job (never existed, or long gone from the database)."""


class OarJobError(OarError):
    """The job ended without running (or the wait for it timed out, see `timed_out`).

    Attributes:
        info: The job's last known state.
        timed_out: True when the wait timed out (the job still exists).
    """

    def __init__(self, info: OarJobInfo, timed_out: bool = False) -> None:
        self.info = info
        self.timed_out = timed_out
        if timed_out:
            what = f"OAR job {info.job_id} is still {info.state} at the end of the wait"
        else:
            what = f"OAR job {info.job_id} ended in state {info.state} without running"
            events = "; ".join(f"{t}: {d}" for t, d in info.events)
            if info.message:
                what += f" (message: {info.message})"
            if events:
                what += f" (events: {events})"
        super().__init__(what)


# ----------------------------------------------------------------- helpers


def _job_and_site(job: JobRef | None, frontend: str | None) -> tuple[int, str | None]:
    """The job id (``$OAR_JOB_ID`` when None, as an int) and its site."""
    if job is None:
        env = os.environ.get("OAR_JOB_ID")
        if not env or not env.strip().isdigit():
            raise ValueError("no OAR job id given, and $OAR_JOB_ID is not set to a job id")
        return int(env), frontend
    if isinstance(job, int):
        return int(job), frontend
    job_id, site = job
    return int(job_id), frontend if frontend is not None else site


def _specs(
    job_specs: Iterable[SubmissionSpec] | OarSubmission,
) -> list[tuple[OarSubmission, str | None]]:
    if isinstance(job_specs, OarSubmission):
        return [(job_specs, None)]
    out: list[tuple[OarSubmission, str | None]] = []
    for spec in job_specs:
        if isinstance(spec, OarSubmission):
            out.append((spec, None))
        else:
            submission, site = spec
            if not isinstance(submission, OarSubmission):
                raise TypeError(f"expected (OarSubmission, site), got {spec!r}")
            out.append((submission, site))
    return out


async def _run(
    argv: Sequence[str],
    frontend: str | None,
    frontend_connection_params: ConnectionParamsLike,
    timeout: float | Unset | None,
    *,
    check: bool = True,
) -> ProcessBase:
    process = frontend_process(
        argv,
        frontend,
        frontend_connection_params=frontend_connection_params,
        timeout=resolve_timeout(timeout),
        nolog_exit_code=True,
        nolog_error=True,
        nolog_timeout=True,
    )
    await process.run()
    if check and not process.ok:
        raise OarCommandError(process)
    return process


def _info_from_output(process: ProcessBase, job_id: int) -> OarJobInfo:
    try:
        jobs = parse_oarstat_json(process.stdout)
    except ValueError as e:
        raise OarCommandError(process, f"cannot parse oarstat's JSON: {e}") from e
    if job_id not in jobs:
        raise OarJobNotFound(f"OAR job {job_id} unknown to oarstat")
    return OarJobInfo.from_json(job_id, jobs[job_id])


# ------------------------------------------------------------------ submit


async def oarsub(
    job_specs: Iterable[SubmissionSpec] | OarSubmission,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
    abort_on_error: bool = False,
) -> list[tuple[int | None, str | None]]:
    """Submits OAR jobs, one ``oarsub`` per submission, all sites in parallel.

    Args:
        job_specs: ``(OarSubmission, site)`` pairs (site None: the default frontend), or
            submissions alone, or one submission.
        frontend_connection_params: Overrides of `default_frontend_connection_params`.
        timeout: Seconds per oarsub; UNSET means ``g5k_configuration["default_timeout"]``.
        abort_on_error: All or nothing: if any submission fails, delete those that were
            submitted and raise `OarSubmitError`.

    Returns:
        ``(job_id, site)`` per submission, in order; ``job_id`` is None where the
        submission failed (the reason is logged), as in execo.

    Raises:
        OarSubmitError: With `abort_on_error`, when a submission failed.

    If the call is cancelled while oarsub runs, any job it already created is deleted.
    """
    specs = _specs(job_specs)
    key_file = _config_module.current_g5k_configuration().oar_job_key_file or os.environ.get(
        "OAR_JOB_KEY_FILE"
    )
    origin = _config_module.current_g5k_configuration().oar_job_origin
    processes = [
        frontend_process(
            oarsub_argv(submission, key_file=key_file, origin=origin),
            site,
            frontend_connection_params=frontend_connection_params,
            timeout=resolve_timeout(timeout),
            nolog_exit_code=True,
            nolog_error=True,
            nolog_timeout=True,
        )
        for submission, site in specs
    ]
    try:
        async with anyio.create_task_group() as tg:
            for process in processes:
                tg.start_soon(process.run)
    except BaseException:
        # Cancelled (or failed) meanwhile: delete whatever was created (no leaked job).
        created = [
            OarJob(outcome.job_id, site)
            for process, (_, site) in zip(processes, specs, strict=True)
            if (outcome := parse_oarsub_output(process.stdout + process.stderr)).job_id
        ]
        if created:
            with anyio.CancelScope(shield=True), anyio.move_on_after(_DELETE_TIMEOUT):
                await oardel(created, frontend_connection_params=frontend_connection_params)
        raise
    results: list[tuple[int | None, str | None]] = []
    failures: list[tuple[OarSubmission, str | None, str]] = []
    orphans: list[OarJob] = []
    for process, (submission, site) in zip(processes, specs, strict=True):
        outcome = parse_oarsub_output(process.stdout + process.stderr, process.exit_code)
        why: str | None = outcome.error
        if process.error or process.timeouted:
            why = process.failure_summary()
        if why is None and outcome.job_id is not None:
            results.append((outcome.job_id, site))
            logger.info("OAR job %s submitted on %s", outcome.job_id, site or "default frontend")
            continue
        if outcome.job_id is not None:
            orphans.append(OarJob(outcome.job_id, site))  # e.g. a refused reservation
        failures.append((submission, site, why or "unknown failure"))
        results.append((None, site))
        logger.warning("oarsub failed on %s: %s", site or "default frontend", why)
    submitted = [OarJob(job_id, site) for job_id, site in results if job_id is not None]
    to_delete = orphans + (submitted if failures and abort_on_error else [])
    if to_delete:
        with anyio.CancelScope(shield=True), anyio.move_on_after(_DELETE_TIMEOUT):
            await oardel(to_delete, frontend_connection_params=frontend_connection_params)
    if failures and abort_on_error:
        raise OarSubmitError(failures, deleted=submitted)
    return results


async def oardel(
    jobs: Iterable[JobRef],
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
) -> None:
    """Deletes jobs (one ``oardel`` per site, in parallel); errors are ignored, as in execo.

    Deleting a job that is gone, already deleted or not yours is logged at DEBUG only.
    """
    by_site: dict[str | None, list[int]] = {}
    for job in jobs:
        job_id, site = _job_and_site(job, None)
        by_site.setdefault(site, []).append(job_id)

    async def one(site: str | None, ids: list[int]) -> None:
        process = await _run(
            ["oardel", *map(str, ids)], site, frontend_connection_params, timeout, check=False
        )
        if not process.ok:
            logger.debug("oardel %s on %s: %s", ids, site, (process.stdout + process.stderr))

    async with anyio.create_task_group() as tg:
        for site, ids in by_site.items():
            tg.start_soon(one, site, ids)


@contextlib.asynccontextmanager
async def oar_jobs(
    job_specs: Iterable[SubmissionSpec] | OarSubmission,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
    keep: bool = False,
) -> AsyncIterator[list[OarJob]]:
    """Submits jobs (all or nothing) for the scope of an ``async with``; deletes them after.

    The jobs are deleted when the block ends, however it ends (error, cancellation), in a
    shielded scope bounded to a minute, unless `keep` is true::

        async with oar_jobs([(OarSubmission("nodes=2", walltime=600), "lyon")]) as jobs:
            ...

    Raises:
        OarSubmitError: A submission failed (the others were deleted).
    """
    submitted = await oarsub(
        job_specs,
        frontend_connection_params=frontend_connection_params,
        timeout=timeout,
        abort_on_error=True,
    )
    jobs = [OarJob(job_id, site) for job_id, site in submitted if job_id is not None]
    try:
        yield jobs
    finally:
        if not keep:
            with anyio.CancelScope(shield=True), anyio.move_on_after(_DELETE_TIMEOUT):
                await oardel(jobs, frontend_connection_params=frontend_connection_params)


@contextlib.asynccontextmanager
async def oar_job(
    submission: OarSubmission,
    site: str | None = None,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
    keep: bool = False,
) -> AsyncIterator[OarJob]:
    """One job for the scope of an ``async with`` (see `oar_jobs`)::

        async with oar_job(OarSubmission("nodes=2", walltime="1:00:00"), "lyon") as job:
            await wait_oar_job_start(job, check=True)
            nodes = await get_oar_job_nodes(job)

    Raises:
        OarSubmitError: The submission failed.
    """
    async with oar_jobs(
        [(submission, site)],
        frontend_connection_params=frontend_connection_params,
        timeout=timeout,
        keep=keep,
    ) as jobs:
        yield jobs[0]


async def oarsubgrid(
    job_specs: Iterable[SubmissionSpec],
    reservation_date: DateLike = None,
    walltime: DurationLike = None,
    job_type: str | Sequence[str] | None = None,
    queue: str | None = None,
    directory: str | None = None,
    additional_options: str | Sequence[str] | None = None,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
) -> list[OarJob]:
    """Several sites' jobs with common settings, all or nothing (like ``oargridsub``).

    The given settings replace those of every submission (in copies: the caller's
    submissions are not changed, unlike execo).

    Returns:
        The jobs, or [] when any submission failed (the others are then deleted).
    """
    common: dict[str, object] = {}
    for key, value in (
        ("reservation_date", reservation_date),
        ("walltime", walltime),
        ("job_type", job_type),
        ("queue", queue),
        ("directory", directory),
        ("additional_options", additional_options),
    ):
        if value is not None:
            common[key] = value
    import dataclasses

    specs = [
        (dataclasses.replace(submission, **common), site)  # type: ignore[arg-type]
        for submission, site in _specs(job_specs)
    ]
    try:
        submitted = await oarsub(
            specs,
            frontend_connection_params=frontend_connection_params,
            timeout=timeout,
            abort_on_error=True,
        )
    except OarSubmitError as e:
        logger.warning("%s", e)
        return []
    return [OarJob(job_id, site) for job_id, site in submitted if job_id is not None]


# ----------------------------------------------------------------- inspect


async def get_current_oar_jobs(
    frontends: Iterable[str | None] | None = None,
    *,
    start_between: tuple[DateLike, DateLike] | None = None,
    end_between: tuple[DateLike, DateLike] | None = None,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
    abort_on_error: bool = False,
) -> list[OarJob]:
    """The current user's jobs (``oarstat -u -f -J``) on each site, in parallel.

    Args:
        frontends: Sites; None means the default frontend only.
        start_between: Keep jobs whose (predicted) start is in ``(low, high)``; either
            bound may be None.
        end_between: Keep jobs whose start plus walltime is in ``(low, high)``.
        frontend_connection_params: Overrides of `default_frontend_connection_params`.
        timeout: Seconds per command; UNSET means the configured default.
        abort_on_error: Raise `OarCommandError` when a site fails (else it is logged and
            skipped).

    Returns:
        The jobs, site by site, by increasing id.
    """
    infos = await get_current_oar_jobs_info(
        frontends,
        frontend_connection_params=frontend_connection_params,
        timeout=timeout,
        abort_on_error=abort_on_error,
    )
    return [
        OarJob(info.job_id, site)
        for info, site in infos
        if _in_range(info.predicted_start, start_between) and _in_range(info.end_date, end_between)
    ]


async def get_current_oar_jobs_info(
    frontends: Iterable[str | None] | None = None,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
    abort_on_error: bool = False,
) -> list[tuple[OarJobInfo, str | None]]:
    """The current user's jobs with their full information, per site (one oarstat each)."""
    sites = list(frontends) if frontends is not None else [None]
    found: dict[int, list[tuple[OarJobInfo, str | None]]] = {}

    async def one(index: int, site: str | None) -> None:
        process = await _run(
            ["oarstat", "-u", "-f", "-J"], site, frontend_connection_params, timeout, check=False
        )
        if not process.ok:
            if abort_on_error:
                raise OarCommandError(process)
            logger.warning("oarstat failed on %s: %s", site, process.failure_summary())
            return
        try:
            jobs = parse_oarstat_json(process.stdout)
        except ValueError as e:
            raise OarCommandError(process, f"cannot parse oarstat's JSON: {e}") from e
        found[index] = [
            (OarJobInfo.from_json(job_id, fields), site) for job_id, fields in sorted(jobs.items())
        ]

    async with anyio.create_task_group() as tg:
        for index, site in enumerate(sites):
            tg.start_soon(one, index, site)
    return [item for index in sorted(found) for item in found[index]]


def _in_range(value: float | None, bounds: tuple[DateLike, DateLike] | None) -> bool:
    from execo._core._time import get_unixts

    if bounds is None:
        return True
    if value is None:
        return False
    low, high = (get_unixts(b) for b in bounds)
    return (low is None or value >= low) and (high is None or value <= high)


async def get_oar_job_info(
    oar_job_id: JobRef | None = None,
    frontend: str | None = None,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | Unset | None = UNSET,
) -> OarJobInfo:
    """Everything ``oarstat -fj ID -J`` says about a job.

    Args:
        oar_job_id: The job (an id, an `OarJob` or an ``(id, site)`` pair); None means
            ``$OAR_JOB_ID``.
        frontend: The site (None: the job's, else the default frontend).
        frontend_connection_params: Overrides of `default_frontend_connection_params`.
        timeout: Seconds; UNSET means the configured default.

    Raises:
        OarJobNotFound: oarstat does not know the job.
        OarCommandError: oarstat failed.
    """
    job_id, site = _job_and_site(oar_job_id, frontend)
    process = await _run(
        ["oarstat", "-f", "-j", str(job_id), "-J"], site, frontend_connection_params, timeout
    )
    return _info_from_output(process, job_id)


async def wait_oar_job_start(
    oar_job_id: JobRef | None = None,
    frontend: str | None = None,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | None = None,
    prediction_callback: Callable[[float], object] | None = None,
    check: bool = False,
) -> bool:
    """Waits until the job is ``Running``, polling ``oarstat``.

    Polls every ``g5k_configuration["polling_interval"]`` seconds, or sooner when OAR's
    predicted start comes earlier; once the predicted start has passed, every
    ``tiny_polling_interval`` seconds.

    Args:
        oar_job_id: The job; None means ``$OAR_JOB_ID``.
        frontend: The site (None: the job's, else the default frontend).
        frontend_connection_params: Overrides of `default_frontend_connection_params`.
        timeout: Give up after this many seconds (None: wait as long as it takes).
        prediction_callback: Called with the predicted start timestamp each time it
            changes.
        check: Raise `OarJobError` instead of returning False.

    Returns:
        True once the job runs; False when it ended (``Error``, ``Terminated``) before, or
        at the timeout.

    Raises:
        OarJobError: With `check`, when the job ended without running or at the timeout.
        OarJobNotFound: The job does not exist.
    """
    job_id, site = _job_and_site(oar_job_id, frontend)
    config = _config_module.current_g5k_configuration()
    deadline = None if timeout is None else time.time() + timeout
    last_prediction: float | None = None
    info = OarJobInfo(job_id=job_id, state="Unknown")
    while True:
        # A poll still running when the wait's time is up is abandoned (its oarstat killed).
        remaining = math.inf if deadline is None else max(0.0, deadline - time.time())
        with anyio.move_on_after(remaining):
            info = await get_oar_job_info(
                job_id, site, frontend_connection_params=frontend_connection_params
            )
        if info.state == "Running":
            return True
        if info.ended:
            if check:
                raise OarJobError(info)
            logger.warning("OAR job %s ended in state %s without running", job_id, info.state)
            return False
        prediction = info.predicted_start
        if prediction is not None and prediction != last_prediction:
            last_prediction = prediction
            if prediction_callback is not None:
                prediction_callback(prediction)
        now = time.time()
        if prediction is not None and prediction <= now:
            delay = config.tiny_polling_interval
        elif prediction is not None:
            delay = min(config.polling_interval, prediction - now)
        else:
            delay = config.polling_interval
        if deadline is not None:
            if now >= deadline:
                if check:
                    raise OarJobError(info, timed_out=True)
                return False
            delay = min(delay, deadline - now)
        await anyio.sleep(max(0.0, delay))


async def _running(
    job: JobRef | None,
    frontend: str | None,
    frontend_connection_params: ConnectionParamsLike,
    timeout: float | None,
) -> tuple[int, str | None]:
    """The job's id and site, once it runs (`OarJobError` if it ended or at `timeout`)."""
    job_id, site = _job_and_site(job, frontend)
    await wait_oar_job_start(
        job_id,
        site,
        frontend_connection_params=frontend_connection_params,
        timeout=timeout,
        check=True,
    )
    return job_id, site


async def get_oar_job_nodes(
    oar_job_id: JobRef | None = None,
    frontend: str | None = None,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | None = None,
) -> list[Host]:
    """The job's hosts (naturally sorted), once it runs.

    Waits for the start first (execo does too); for a job that already runs, that is one
    ``oarstat`` call.

    Args:
        oar_job_id: The job; None means ``$OAR_JOB_ID``.
        frontend: The site (None: the job's, else the default frontend).
        frontend_connection_params: Overrides of `default_frontend_connection_params`.
        timeout: Seconds to wait for the start (None: no limit).

    Raises:
        OarJobError: The job ended without running, or the wait timed out.
    """
    job_id, site = await _running(oar_job_id, frontend, frontend_connection_params, timeout)
    info = await get_oar_job_info(
        job_id, site, frontend_connection_params=frontend_connection_params
    )
    return [Host(address) for address in info.nodes]


async def get_oar_job_subnets(
    oar_job_id: JobRef | None = None,
    frontend: str | None = None,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | None = None,
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The job's subnets with Grid'5000's ``g5k-subnets`` (on the frontend), once it runs.

    Returns:
        ``([(ip, mac)], network parameters)``, see `parse_g5k_subnets`.
    """
    job_id, site = await _running(oar_job_id, frontend, frontend_connection_params, timeout)
    ids = str(job_id)
    ip_mac, params = await _gather_commands(
        [["g5k-subnets", "-i", "-m", "-j", ids], ["g5k-subnets", "-a", "-j", ids]],
        site,
        frontend_connection_params,
    )
    return parse_g5k_subnets(ip_mac.stdout, params.stdout)


async def get_oar_job_kavlan(
    oar_job_id: JobRef | None = None,
    frontend: str | None = None,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | None = None,
) -> list[int]:
    """The job's KaVLAN ids (``kavlan -j ID -V``), once it runs; [] when it has none."""
    job_id, site = await _running(oar_job_id, frontend, frontend_connection_params, timeout)
    process = await _run(
        ["kavlan", "-j", str(job_id), "-V"], site, frontend_connection_params, UNSET, check=False
    )
    return parse_kavlan(process.stdout)


async def _gather_commands(
    argvs: Sequence[Sequence[str]],
    site: str | None,
    frontend_connection_params: ConnectionParamsLike,
) -> list[ProcessBase]:
    results: dict[int, ProcessBase] = {}

    async def one(index: int, argv: Sequence[str]) -> None:
        results[index] = await _run(argv, site, frontend_connection_params, UNSET)

    async with anyio.create_task_group() as tg:
        for index, argv in enumerate(argvs):
            tg.start_soon(one, index, argv)
    return [results[i] for i in range(len(argvs))]
