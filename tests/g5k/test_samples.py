"""execo's Grid'5000 code samples (doc/code_samples), in async form, on the real OAR.

``g5k_iperf.py`` and ``g5k_check_cluster_cpu.py`` as a user would write them now (mypy
--strict checks this file). The test cluster has one cluster of 4 nodes, so the iperf
sample splits the nodes in halves instead of by cluster, and nc stands for iperf.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from execo import Host, Remote, RemoteProcessArgs, Report, default_oarsh_oarcp_params
from execo._core._config import ConnectionParamsLike
from execo_g5k.oar import OarSubmission, get_oar_job_nodes, oar_job, wait_oar_job_start
from execo_g5k.oargrid import (
    get_oargrid_job_nodes,
    oargriddel,
    oargridsub,
    wait_oargrid_job_start,
)

from .oar_cluster import OarCluster

pytestmark = pytest.mark.root


async def g5k_iperf(
    site: str,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    node_connection_params: ConnectionParamsLike = None,
) -> tuple[Report, list[str]]:
    """g5k_iperf.py: servers on half the nodes, clients on the other half."""
    submission = OarSubmission(resources="nodes=4", walltime="0:10:00", name="iperf")
    async with oar_job(
        submission, site, frontend_connection_params=frontend_connection_params
    ) as job:
        await wait_oar_job_start(
            job, frontend_connection_params=frontend_connection_params, check=True
        )
        nodes = await get_oar_job_nodes(job, frontend_connection_params=frontend_connection_params)
        sources, targets = nodes[: len(nodes) // 2], nodes[len(nodes) // 2 :]
        job_env: RemoteProcessArgs = {"env": {"OAR_JOB_ID": str(job.job_id)}}  # for oarsh
        servers = Remote(
            "nc -l -p 5001 > /dev/null",  # iperf -s
            targets,
            connection_params=node_connection_params,
            process_args=job_env,
        )
        async with servers:
            clients = Remote(
                "sleep 1; (dd if=/dev/zero bs=1M count=8 | nc -q 0 "
                "{{[t.address for t in targets]}} 5001) 2>&1",  # iperf -c ...
                sources,
                connection_params=node_connection_params,
                process_args=job_env,
            )
            await clients.run()
        return Report([servers, clients]), [p.stdout for p in clients.processes]


async def g5k_check_cluster_cpu(clusters: list[str], out_dir: Path) -> list[Host]:
    """g5k_check_cluster_cpu.py: one node per cluster with oargridsub, a shell check each."""
    specs = [(OarSubmission(resources="nodes=1"), cluster) for cluster in clusters]
    grid_id, _key = await oargridsub(specs, walltime="0:05:00")
    assert grid_id is not None
    try:
        await wait_oargrid_job_start(grid_id)
        nodes = await get_oargrid_job_nodes(grid_id)
        check = """
            echo "cpus: $(nproc)"
            for g in /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor; do
                [ -e "$g" ] && echo "governor: $(cat $g)"
            done
            echo "smt: $(cat /sys/devices/system/cpu/smt/active 2>/dev/null || echo unknown)"
        """
        node_params = {"user": "oartest", "keyfile": os.environ["OAR_TEST_KEY"]}
        await Remote(
            check,
            nodes,
            connection_params=node_params,
            process_args={"stdout_handlers": [str(out_dir / "{{{host}}}.out")]},
        ).run(check=True)
        return nodes
    finally:
        await oargriddel([grid_id])


async def test_g5k_iperf(oar: OarCluster) -> None:
    params = {**default_oarsh_oarcp_params, **oar.oarsh_params}
    report, outputs = await g5k_iperf(
        "site", frontend_connection_params=oar.frontend_params, node_connection_params=params
    )
    assert all("8388608 bytes" in out for out in outputs), outputs
    assert "ok" in report.to_string()


async def test_g5k_check_cluster_cpu(oar: OarCluster, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", f"{oar.bindir}:{os.environ['PATH']}")
    state = tmp_path / "oargrid"
    state.mkdir()
    monkeypatch.setenv("OARGRID_STANDIN_DIR", str(state))
    monkeypatch.setenv("OAR_TEST_KEY", oar.key)
    oar.settle_for_reservations()
    nodes = await g5k_check_cluster_cpu(["node"], tmp_path)
    (node,) = nodes
    assert "cpus:" in (tmp_path / f"{node.address}.out").read_text()
