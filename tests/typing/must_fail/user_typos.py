"""User code with one misspelled keyword per marked line: ``mypy --strict`` must report exactly
the error named at the end of each marked line, and nothing else (tests/typing/test_typing.py
checks it). The normal mypy run of the test command skips this folder."""

from __future__ import annotations

import trio

from execo import (
    ChainPut,
    CopyProcess,
    Get,
    Host,
    Local,
    ParallelActions,
    PortForwarder,
    Process,
    Put,
    Remote,
    RemoteSerial,
    SequentialActions,
    Serial,
    SerialSsh,
    SftpProcess,
    SshProcess,
    TaktukGet,
    TaktukProcess,
    TaktukPut,
    TaktukRemote,
    get_fileget,
    get_fileput,
    get_process,
    get_remote,
    resolve_connection_params,
)
from execo_engine import AsyncParamSweeper, ParamSweeper
from execo_g5k import Deployment, OarSubmission, deploy, kadeploy, oardel, oarsub

hosts = [Host("node-1"), Host("node-2")]
params = resolve_connection_params()


async def user_code() -> None:
    Process("true", timout=1)  # E: call-arg
    SshProcess("true", hosts[0], shel=True)  # E: call-arg
    TaktukProcess("true", hosts[0], pty=True)  # E: call-arg
    CopyProcess(hosts[0], "put", ["a"], "/tmp", timeot=3)  # E: call-arg
    SftpProcess(hosts[0], params, put=True, sources=["a"], destination=".", nmae="x")  # E: call-arg
    Local("true", timout=1)  # E: call-arg
    Local("true", process_args={"shel": True})  # E: arg-type
    Remote("true", hosts, timout=1)  # E: call-arg
    Remote("true", hosts, process_args={"ignore_exit_cod": True})  # E: arg-type
    Put(hosts, ["a"], timeot=3)  # E: call-arg
    Get(hosts, ["a"], timeot=3)  # E: call-arg
    TaktukRemote("true", hosts, nolog_exit_cod=True)  # E: call-arg
    TaktukPut(hosts, ["a"], fanuot=2)  # E: call-arg
    TaktukGet(hosts, ["a"], nmae="x")  # E: call-arg
    ChainPut(hosts, ["a"], timeot=3)  # E: call-arg
    ParallelActions([], hide_subaction=True)  # E: call-arg
    SequentialActions([], stop_on_failur=True)  # E: call-arg
    Serial("/dev/ttyS0", 9600, timout=1)  # E: call-arg
    SerialSsh(hosts[0], "/dev/ttyS0", 9600, timout=1)  # E: call-arg
    RemoteSerial(hosts, "/dev/ttyS0", 9600, timout=1)  # E: call-arg
    async with PortForwarder(hosts[0], "localhost", 80, local_prot=8080):  # E: call-arg
        pass
    get_process("true", hosts[0], transprot="asyncssh")  # E: call-arg
    get_remote("true", hosts, remote_tol="taktuk")  # E: call-arg
    get_fileput(hosts, ["a"], fileput_tol="scp")  # E: call-arg
    get_fileget(hosts, ["a"], fileget_tol="scp")  # E: call-arg
    await oarsub(OarSubmission("nodes=1"), timout=10)  # E: call-arg
    await oardel([], timout=10)  # E: call-arg
    await kadeploy(Deployment(["node-1"], env_name="debian11-min"), timout=10)  # E: call-arg
    await deploy(Deployment(["node-1"], env_name="debian11-min"), num_trys=2)  # E: call-arg
    ParamSweeper("/tmp/sweeps", durabel=False)  # E: call-arg
    await AsyncParamSweeper.open("/tmp/sweeps", durabel=False)  # E: call-arg


trio.run(user_code)
