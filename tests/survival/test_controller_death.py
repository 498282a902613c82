"""Nothing survives the controller: SIGKILLed at random points (while connecting, while
running, while killing), 30 runs of 10 hosts over each transport leave no process behind,
neither locally (children, ssh and taktuk clients, their process groups) nor remotely (the
commands' trees); the ssh client killed alone ends its remote command; detach=True keeps a
command alive on purpose."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio

from execo import Host, ProcessStatus, SshProcess
from execo.testbed import LoopbackSshd

from ..conftest import count_processes, describe_processes

CONTROLLER = Path(__file__).with_name("controller.py")
TRANSPORTS = ["local", "ssh", "asyncssh", "taktuk", "asyncssh-warm"]
RUNS = 30
HOSTS = 10
BOUND = 5.0 + 3.0  # the bound after a connection ends, plus room for a loaded machine


def start_controller(
    sshd: LoopbackSshd, transport: str, token: str, phase: str, *extra: str
) -> subprocess.Popen[str]:
    if transport.endswith("-warm"):  # connections whose keepers keep (commands register)
        transport, extra = transport.removesuffix("-warm"), (*extra, "warm")
    argv = [sys.executable, str(CONTROLLER), transport, str(sshd.port), str(sshd.keyfile)]
    argv += [str(HOSTS), token, phase, *extra]
    root = Path(__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "EXECO_CONFIG_FILE": ""}
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env, cwd=root)


async def read_until(proc: subprocess.Popen[str], marker: str) -> None:
    assert proc.stdout is not None
    line = await trio.to_thread.run_sync(proc.stdout.readline)
    while line and line.strip() != marker:
        line = await trio.to_thread.run_sync(proc.stdout.readline)
    assert line.strip() == marker, f"the controller ended before {marker}"


async def wait_survivors_gone(token: str, bound: float) -> float:
    start = time.monotonic()
    with trio.move_on_after(bound):
        while count_processes(token):
            await trio.sleep(0.1)
    return time.monotonic() - start


async def one_run(sshd: LoopbackSshd, transport: str, run: int, rng: random.Random) -> str:
    token = f"{500 + TRANSPORTS.index(transport)}.{run:02d}{os.getpid() % 100:02d}"
    phase = rng.choice(["connecting", "running", "killing"])
    proc = start_controller(sshd, transport, token, phase)
    try:
        await read_until(proc, "CONNECTING")
        if phase == "connecting":
            await trio.sleep(rng.uniform(0, 0.3))
        else:
            await read_until(proc, "RUNNING")
            with trio.move_on_after(15):  # every remote tree up
                while count_processes(f"sleep {token}", exact=True) < 2 * HOSTS:
                    await trio.sleep(0.05)
            if phase == "killing":
                await read_until(proc, "KILLING")
                await trio.sleep(rng.uniform(0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        took = await wait_survivors_gone(token, BOUND)
        left = count_processes(token)
        assert left == 0, f"{transport} {phase}: {left} left\n{describe_processes(token)}"
        return f"{phase} {took:.1f}s"
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.mark.slow
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_controller_sigkilled_at_random_points_leaves_nothing(
    sshd: LoopbackSshd, transport: str
) -> None:
    seed = int(os.environ.get("EXECO_SURVIVAL_SEED", "16"))
    rng = random.Random(f"{seed}-{transport}")
    results: list[str] = []
    limiter = trio.CapacityLimiter(6)

    async def guarded(run: int) -> None:
        async with limiter:
            results.append(await one_run(sshd, transport, run, rng))

    async with trio.open_nursery() as nursery:
        for run in range(RUNS):
            nursery.start_soon(guarded, run)
    assert len(results) == RUNS
    worst = max(float(r.split()[1].rstrip("s")) for r in results)
    print(f"{transport}: {RUNS} runs, survivors gone after at most {worst:.1f} s")
    phases = {r.split()[0] for r in results}
    assert phases == {"connecting", "running", "killing"}, results


async def test_the_ssh_client_killed_ends_the_remote_command(hosts: list[Host]) -> None:
    token = "sleep 533.3"
    p = SshProcess(f"sh -c '{token} & {token}'", hosts[0], nolog_exit_code=True)
    async with p:
        with trio.fail_after(15):
            while count_processes(token, exact=True) < 2:
                await trio.sleep(0.05)
        assert p.pid is not None
        os.kill(p.pid, signal.SIGKILL)  # what a dropped network does to the client
    assert p.ended and p.exit_signal == signal.SIGKILL
    took = await wait_survivors_gone(token, BOUND)
    assert count_processes(token) == 0, describe_processes(token)
    assert took < BOUND


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_detach_survives_the_controller_as_asked(sshd: LoopbackSshd, transport: str) -> None:
    token = f"{540 + TRANSPORTS.index(transport)}.5"
    proc = start_controller(sshd, transport, token, "running", "detach")
    try:
        await read_until(proc, "RUNNING")
        with trio.fail_after(15):
            while count_processes(f"sleep {token}", exact=True) < 2 * HOSTS:
                await trio.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        await trio.sleep(BOUND)
        assert count_processes(f"sleep {token}", exact=True) == 2 * HOSTS, describe_processes(token)
    finally:
        stop(proc)
        end_by_pid(token)
    await wait_survivors_gone(token, 5)  # SIGKILLs take a moment to land
    assert count_processes(token) == 0, describe_processes(token)


def end_by_pid(token: str) -> None:
    """Kill what the test left running on purpose, by PID."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        if token in args and "ps -eo" not in args:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_detached_process_reports_its_status() -> None:
    assert ProcessStatus.OK  # (detach changes nothing of the state model)
