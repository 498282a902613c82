"""oargrid functions against the stand-in oargrid tools, which reserve on the real OAR.

oargrid is not packaged anywhere (and Grid'5000 no longer runs it): the stand-in
(`standins/oargrid_standin.py`) prints what execo 2.8.2 parsed from the real tools and makes
real advance reservations with oarsub. The commands run locally (the "no ssh" path).
"""

from __future__ import annotations

import os
import time

import pytest
import trio

from execo_g5k.oar import OarSubmission, get_oar_job_info
from execo_g5k.oargrid import (
    get_current_oargrid_jobs,
    get_oargrid_job_info,
    get_oargrid_job_key,
    get_oargrid_job_nodes,
    get_oargrid_job_oar_jobs,
    oargriddel,
    oargridsub,
    oargridsub_argv,
    parse_oargridstat,
    parse_oargridsub_output,
    wait_oargrid_job_start,
)

from .oar_cluster import OarCluster


def test_argv_and_parsers():
    specs = [
        (OarSubmission("{cluster='a'}/nodes=2", job_type="deploy", name="x"), "rennes"),
        (OarSubmission("nodes=1", sql_properties="wattmeter='YES'"), "lyon"),
    ]
    assert oargridsub_argv(specs, 1_900_000_000, "2:00:00", queue="default", key_file="/k") == [
        "oargridsub", "-v", "-i", "/k", "-s", "2030-03-17 17:46:40", "-q", "default",
        "-w", "2:00:00",
        "rennes:rdef={cluster='a'}/nodes=2:type=deploy:name=x,lyon:rdef=nodes=1:prop=wattmeter='YES'",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="no resources"):
        oargridsub_argv([(OarSubmission(), "lyon")])
    out = (
        "[OAR_GRIDSUB] [nancy] Date/TZ adjustment: 0 seconds\n"
        "[OAR_GRIDSUB] [nancy] Reservation success on nancy : batchId = 1091121\n"
        "[OAR_GRIDSUB] Grid reservation id = 56670\n"
        "[OAR_GRIDSUB] SSH KEY : /tmp/oargrid//oargrid_ssh_key_jdoe_56670\n"
        "\tYou can use this key to connect directly to your OAR nodes with the oar user.\n"
    )
    assert parse_oargridsub_output(out) == (56670, "/tmp/oargrid//oargrid_ssh_key_jdoe_56670")
    assert parse_oargridsub_output("[OAR_GRIDSUB] Grid reservation failed\n") == (None, None)
    stat = (
        "Reservation # 3:\n\tstart date : 2030-03-17 17:46:40\n\twalltime : 2:00:00\n"
        "\tuser : jdoe\n\tclusters with job id:\n\trennes --> 12\n\tlyon --> 13\n"
        "Reservation # 4:\n\tuser : jdoe\n"
    )
    first, second = parse_oargridstat(stat)
    assert (first.grid_job_id, first.start_date, first.walltime) == (3, 1_900_000_000, 7200)
    assert first.oar_jobs == ((12, "rennes"), (13, "lyon")) and first["user"] == "jdoe"
    assert second.start_date is None and second.oar_jobs == ()
    with pytest.raises(KeyError):
        second["walltime"]


@pytest.fixture
def grid(oar: OarCluster, monkeypatch, tmp_path) -> OarCluster:
    monkeypatch.setenv("PATH", f"{oar.bindir}:{os.environ['PATH']}")
    state = tmp_path / "oargrid"
    state.mkdir()
    state.chmod(0o777)
    monkeypatch.setenv("OARGRID_STANDIN_DIR", str(state))
    oar.settle_for_reservations()
    return oar


@pytest.mark.root
async def test_grid_job_lifecycle(grid: OarCluster) -> None:
    specs = [(OarSubmission("nodes=1"), "node"), (OarSubmission("nodes=2"), "node")]
    before = time.time()
    grid_id, key = await oargridsub(specs, walltime=120)
    assert grid_id is not None
    try:
        assert key == f"/tmp/oargrid/oargrid_ssh_key_oartest_{grid_id}"
        assert key == await get_oargrid_job_key(grid_id)
        info = await get_oargrid_job_info(grid_id)
        assert info.user == "oartest" and info.walltime == 120
        assert info.start_date is not None and before <= info.start_date <= before + 10
        jobs = await get_oargrid_job_oar_jobs(grid_id)
        assert [site for _, site in jobs] == ["node", "node"]
        for job in jobs:
            oar_info = await get_oar_job_info(job.job_id)
            # OAR cuts the walltime of a reservation that starts late
            assert oar_info.reservation is not None
            assert oar_info.walltime is not None and 90 <= oar_info.walltime <= 120
        assert grid_id in await get_current_oargrid_jobs()
        assert grid_id in await get_current_oargrid_jobs(start_between=(before - 5, None))
        assert grid_id not in await get_current_oargrid_jobs(end_between=(None, before))
        await wait_oargrid_job_start(grid_id)
        assert time.time() >= info.start_date
        with trio.fail_after(120):
            nodes = await get_oargrid_job_nodes(grid_id)
        assert len(nodes) == 3 == len(set(nodes))  # unique although -l repeats them
        assert [n.address for n in nodes] == sorted(n.address for n in nodes)
    finally:
        await oargriddel([grid_id])
    assert grid_id not in await get_current_oargrid_jobs()
    for job in jobs:
        info_after = await get_oar_job_info(job.job_id)
        assert (
            info_after.ended
            or ("FRAG_JOB_REQUEST", f"User oartest requested to frag the job {job.job_id}")
            in info_after.events
        )
    await oargriddel([grid_id, 12345])  # errors ignored


@pytest.mark.root
async def test_grid_job_all_or_nothing(grid: OarCluster) -> None:
    before = set(grid.jobs())
    specs = [(OarSubmission("nodes=1"), "node"), (OarSubmission("nodes=1"), "nosuchcluster")]
    assert await oargridsub(specs, walltime=60) == (None, None)
    for job_id in set(grid.jobs()) - before:  # the first cluster's reservation is gone
        info = await get_oar_job_info(job_id)
        assert info.ended or any(t == "FRAG_JOB_REQUEST" for t, _ in info.events)
