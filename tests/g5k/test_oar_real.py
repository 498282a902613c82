"""The OAR layer against a real OAR 2.5.9 server (see oar_cluster.py): root only."""

from __future__ import annotations

import os
import time

import pytest
import trio

from execo import Remote, default_oarsh_oarcp_params
from execo_g5k.oar import (
    OarJob,
    OarJobError,
    OarJobNotFound,
    OarSubmission,
    OarSubmitError,
    get_current_oar_jobs,
    get_current_oar_jobs_info,
    get_oar_job_info,
    get_oar_job_nodes,
    oar_job,
    oar_jobs,
    oardel,
    oarsub,
    oarsubgrid,
    wait_oar_job_start,
)

from .oar_cluster import OarCluster

pytestmark = pytest.mark.root


async def _deleted(oar: OarCluster, job: OarJob, params: dict[str, object]) -> bool:
    info = await get_oar_job_info(job, frontend_connection_params=params)
    return info.ended or any(t == "FRAG_JOB_REQUEST" for t, _ in info.events)


async def test_job_lifecycle_nodes_and_remote(oar: OarCluster) -> None:
    p = oar.frontend_params
    # U12: a list of resources joined with "+"
    submission = OarSubmission(["nodes=1", "nodes=1"], walltime="0:05:00", name="lifecycle")
    predictions: list[float] = []
    async with oar_job(submission, "site-a", frontend_connection_params=p) as job:
        assert job.site == "site-a" and job.job_id > 0
        assert await wait_oar_job_start(
            job, frontend_connection_params=p, timeout=120, prediction_callback=predictions.append
        )
        info = await get_oar_job_info(job, frontend_connection_params=p)
        assert info.state == "Running" and info.name == "lifecycle"
        assert info.walltime == 300 and info.owner == "oartest"
        assert "origin=execo" in info.types
        assert info.start_date is not None and abs(info.start_date - time.time()) < 120
        nodes = await get_oar_job_nodes(job, frontend_connection_params=p)
        assert len(nodes) == 2 and {n.address for n in nodes} <= set(oar.nodes)
        assert job in await get_current_oar_jobs(["site-a"], frontend_connection_params=p)

        # plain ssh to the nodes (each node is a network namespace with its own hostname)
        plain = await Remote("hostname", nodes, connection_params=oar.node_params).run()
        assert plain.ok, [q.failure_summary() for q in plain.processes]
        assert sorted(q.stdout.strip() for q in plain.processes) == [n.address for n in nodes]

        # oarsh: execo's default_oarsh_oarcp_params, oarsh run as the job's owner
        params = {**default_oarsh_oarcp_params, **oar.oarsh_params}
        remote = Remote(
            "cat /proc/self/cpuset; hostname",
            nodes,
            connection_params=params,
            process_args={"env": {"OAR_JOB_ID": str(job.job_id)}},
        )
        await remote.run()
        assert remote.ok, [q.failure_summary() for q in remote.processes]
        for process in remote.processes:
            assert f"/oar/oartest_{job.job_id}" in process.stdout
    assert await _deleted(oar, job, p)
    with trio.fail_after(60):
        while job in await get_current_oar_jobs(["site-a"], frontend_connection_params=p):
            await trio.sleep(0.5)


async def test_oarsub_in_parallel_partial_failure_and_all_or_nothing(oar: OarCluster) -> None:
    p = oar.frontend_params
    good = OarSubmission("nodes=1", walltime=120)
    impossible = OarSubmission("nodes=9", walltime=120)
    results = await oarsub([(good, "site-a"), (impossible, "site-b")], frontend_connection_params=p)
    assert results[1] == (None, "site-b")
    job_id, site = results[0]
    assert job_id is not None and site == "site-a"
    await oardel([(job_id, site)], frontend_connection_params=p)
    assert await _deleted(oar, OarJob(job_id, site), p)

    with pytest.raises(OarSubmitError) as failed:
        await oarsub(
            [(good, "site-a"), (impossible, "site-b")],
            frontend_connection_params=p,
            abort_on_error=True,
        )
    (deleted,) = failed.value.deleted
    assert "not enough resources" in str(failed.value)
    assert await _deleted(oar, deleted, p)
    # oarsubgrid: all or nothing too, and the caller's submissions are left alone
    assert (
        await oarsubgrid(
            [(good, "a"), (impossible, "b")], walltime=60, frontend_connection_params=p
        )
        == []
    )
    jobs = await oarsubgrid(
        [(good, "a"), (good, "b")],
        walltime=90,
        job_type="allow_classic_ssh",
        frontend_connection_params=p,
    )
    assert [j.site for j in jobs] == ["a", "b"] and good.walltime_seconds == 120
    for job in jobs:
        info = await get_oar_job_info(job, frontend_connection_params=p)
        assert info.walltime == 90 and "allow_classic_ssh" in info.types
    await oardel(jobs, frontend_connection_params=p)
    # deleting again, or an unknown job, is silent
    await oardel([*jobs, OarJob(999_999, "a")], frontend_connection_params=p)
    with pytest.raises(OarJobNotFound):
        await get_oar_job_info(999_999, "a", frontend_connection_params=p)


async def test_advance_reservation_dates_are_exact(oar: OarCluster, monkeypatch) -> None:
    # The local path (no ssh), with the caller in a far time zone: dates are epochs.
    monkeypatch.setenv("PATH", f"{oar.bindir}:{os.environ['PATH']}")
    oar.settle_for_reservations()
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    try:
        job_id = None
        for _ in range(6):  # OAR may refuse it while deleted jobs linger in its Gantt
            start = int(time.time()) + 30
            submission = OarSubmission("nodes=1", walltime=60, reservation_date=start)
            try:
                ((job_id, _),) = await oarsub(submission, abort_on_error=True)
                break
            except OarSubmitError as e:
                assert "could run at" in str(e)  # noqa: PT017
                await trio.sleep(5)
        assert job_id is not None
        job = OarJob(job_id)
        try:
            assert job.site is None
            info = await get_oar_job_info(job)
            assert info.reservation == "Scheduled" and info.state == "Waiting"
            assert info.scheduled_start == start  # not an hour (or 14) off
            assert len(info.reserved_nodes) == 1
            assert not await wait_oar_job_start(job, timeout=3)
            predicted: list[float] = []
            assert await wait_oar_job_start(job, timeout=90, prediction_callback=predicted.append)
            # the reservation's date, then (OAR starts it a few seconds late) the real start
            assert predicted[0] == start and predicted[-1] >= start
            assert time.time() >= start
        finally:
            await oardel([job])
        past = OarSubmission("nodes=1", walltime=60, reservation_date=time.time() - 86400)
        with pytest.raises(OarSubmitError, match="Reservation too old"):
            async with oar_job(past):
                pass
    finally:
        monkeypatch.undo()
        time.tzset()


async def test_job_that_fails_to_start(oar: OarCluster) -> None:
    p = oar.frontend_params
    # Deleted (here by the admin) while it waits: it never runs.
    held = OarSubmission("nodes=1", walltime=60, additional_options="--hold")
    async with oar_job(held, "site-a", frontend_connection_params=p) as job:
        oar.delete_all_jobs()
        assert not await wait_oar_job_start(job, frontend_connection_params=p, timeout=60)
        with pytest.raises(OarJobError, match="ended in state Error without running") as e:
            await wait_oar_job_start(job, frontend_connection_params=p, check=True)
        assert ("FRAG_JOB_REQUEST", f"User root requested to frag the job {job.job_id}") in (
            e.value.info.events
        )
        with pytest.raises(OarJobError):
            await get_oar_job_nodes(job, frontend_connection_params=p)
    # Its working directory does not exist: OAR launches it (it may show Running for an
    # instant), then puts it in Error with the reason among its events.
    submission = OarSubmission("nodes=1", walltime=60, directory="/nonexistent/dir")
    async with oar_job(submission, "site-a", frontend_connection_params=p) as job:
        with trio.fail_after(120):
            while not (info := await get_oar_job_info(job, frontend_connection_params=p)).ended:
                await trio.sleep(1)
        assert info.state == "Error"
        with pytest.raises(OarJobError, match="Cannot go into the working directory"):
            await wait_oar_job_start(job, frontend_connection_params=p, check=True)


async def test_wait_timeout(oar: OarCluster) -> None:
    p = oar.frontend_params
    held = OarSubmission("nodes=1", walltime=60, additional_options="--hold")  # never starts
    async with oar_job(held, "s", frontend_connection_params=p) as job:
        started = time.monotonic()
        assert not await wait_oar_job_start(job, frontend_connection_params=p, timeout=2)
        with pytest.raises(OarJobError, match="still Hold") as e:
            await wait_oar_job_start(job, frontend_connection_params=p, timeout=2, check=True)
        assert e.value.timed_out and time.monotonic() - started < 20


async def test_job_deleted_when_the_scope_is_cancelled_or_fails(oar: OarCluster) -> None:
    p = oar.frontend_params
    submission = OarSubmission("nodes=1", walltime=300)
    with trio.move_on_after(20) as scope:
        async with oar_job(submission, "s", frontend_connection_params=p) as job:
            await wait_oar_job_start(job, frontend_connection_params=p)
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert await _deleted(oar, job, p)

    with pytest.raises(ZeroDivisionError):
        async with oar_job(submission, "s", frontend_connection_params=p) as job:
            1 / 0
    assert await _deleted(oar, job, p)

    async with oar_job(submission, "s", frontend_connection_params=p, keep=True) as kept:
        pass
    assert not await _deleted(oar, kept, p)
    await oardel([kept], frontend_connection_params=p)


async def test_oarsub_cancelled_while_running_leaks_no_job(
    oar: OarCluster, monkeypatch, tmp_path
) -> None:
    # An oarsub that has created its job but is slow to exit (a slow frontend).
    slow = tmp_path / "bin"
    slow.mkdir()
    (slow / "oarsub").write_text(f'#!/bin/sh\n{oar.bindir}/oarsub "$@"\nsleep 30\n')
    (slow / "oarsub").chmod(0o755)
    monkeypatch.setenv("PATH", f"{slow}:{oar.bindir}:{os.environ['PATH']}")
    before = set(oar.jobs())
    with trio.move_on_after(5):
        await oarsub(OarSubmission("nodes=1", walltime=60))
    (new,) = set(oar.jobs()) - before
    assert await _deleted(oar, OarJob(new), {})


async def test_current_jobs_filters(oar: OarCluster) -> None:
    p = oar.frontend_params
    now = time.time()
    later = OarSubmission("nodes=1", walltime=60, reservation_date=now + 3600)
    batch = OarSubmission("nodes=1", walltime=60)
    async with oar_jobs([(later, "s"), (batch, "s")], frontend_connection_params=p) as (res, job):
        await wait_oar_job_start(job, frontend_connection_params=p, timeout=120)
        all_jobs = await get_current_oar_jobs(["s"], frontend_connection_params=p)
        assert res in all_jobs and job in all_jobs
        soon = await get_current_oar_jobs(
            ["s"], start_between=(now - 600, now + 600), frontend_connection_params=p
        )
        assert job in soon and res not in soon
        ending_late = await get_current_oar_jobs(
            ["s"], end_between=(now + 3000, None), frontend_connection_params=p
        )
        assert ending_late == [res]
        infos = dict(
            (i.job_id, i)
            for i, _ in await get_current_oar_jobs_info(["s"], frontend_connection_params=p)
        )
        assert infos[res.job_id].scheduled_start == int(now + 3600) + (1 if now % 1 else 0)
