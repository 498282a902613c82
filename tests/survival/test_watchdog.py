"""The remote watchdog of :func:`wrap`, run here under bash and under dash (the shells a
login shell usually is), with this test process or a shell of its own as the carrier (the
process that sshd's session process or the taktuk engine is, remotely):

- the wrapper shell killed outright (SIGKILL: no EXIT trap runs) leaves children behind, and
  the watchdog ends them;
- a carrier that became a zombie (it ended, nobody reaped it yet) counts as gone;
- a command's own exit stops the watchdog and leaves its background children alone;
- a command that is not its group's leader gets its group ended, the carrier's group too.
"""

from __future__ import annotations

import shlex
import shutil
import signal
import subprocess
import time

import pytest

from execo._transports._remote_command import Watchdog, wrap

from ..conftest import count_processes

SHELLS = [s for s in ("bash", "dash") if shutil.which(s)]
FAST = Watchdog(period=0.2, grace=0.5, stale=None)
BOUND = 10.0  # period + grace is 0.7 s: room for a loaded machine


def _wait_none(token: str, bound: float = BOUND) -> float:
    start = time.monotonic()
    while count_processes(token):
        if time.monotonic() - start > bound:
            raise AssertionError(f"{count_processes(token)} processes of {token!r} left")
        time.sleep(0.05)
    return time.monotonic() - start


def _wait_running(token: str, n: int) -> None:
    start = time.monotonic()
    while count_processes(token, exact=True) < n:
        assert time.monotonic() - start < BOUND, f"{token!r} did not start"
        time.sleep(0.02)


def _kill_all(token: str) -> None:
    subprocess.run(["pkill", "-KILL", "-f", token], check=False)


@pytest.mark.parametrize("shell", SHELLS)
def test_the_shell_killed_outright_takes_its_children(shell: str) -> None:
    token = f"sleep 97.{SHELLS.index(shell)}1"
    script = wrap(f"{token} & {token}", pty=False, watchdog=FAST)
    wrapper = subprocess.Popen(
        [shell, "-c", script], stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        _wait_running(token, 2)
        wrapper.send_signal(signal.SIGKILL)
        wrapper.wait()
        _wait_none(token)
    finally:
        _kill_all(token)


@pytest.mark.parametrize("shell", SHELLS)
def test_a_zombie_carrier_counts_as_gone(shell: str) -> None:
    token = f"sleep 97.{SHELLS.index(shell)}2"
    script = wrap(f"{token} & {token}", pty=False, watchdog=FAST)
    # The carrier starts the wrapper and ends at once; it stays a zombie until we reap it.
    carrier = subprocess.Popen(
        [shell, "-c", f"{shell} -c {shlex.quote(script)} & sleep 0.5; exit 0"],
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_running(token, 2)
        with open(f"/proc/{carrier.pid}/stat") as f:
            f.read()  # still there (a zombie soon): not reaped before the sleeps are gone
        _wait_none(token)
    finally:
        carrier.wait()
        _kill_all(token)


@pytest.mark.parametrize("shell", SHELLS)
def test_a_command_that_exits_keeps_its_background_children(shell: str) -> None:
    token = f"sleep 97.{SHELLS.index(shell)}3"
    script = wrap(f"{token} >/dev/null 2>&1 & exit 0", pty=False, watchdog=FAST)
    try:
        wrapper = subprocess.run(
            [shell, "-c", script], stderr=subprocess.DEVNULL, start_new_session=True, timeout=30
        )
        assert wrapper.returncode == 0
        time.sleep(1.5)  # two periods and the grace: a watchdog left would have fired
        assert count_processes(token, exact=True) == 1
    finally:
        _kill_all(token)


@pytest.mark.parametrize("shell", SHELLS)
def test_a_wrapper_below_a_group_leader_ends_that_group(shell: str) -> None:
    """A forced command or a wrapper between sshd and the shell: the shell is not its
    group's leader; the watchdog ends the group it is in (as the remote kill does)."""
    token = f"sleep 97.{SHELLS.index(shell)}4"
    script = wrap(f"{token} & {token}", pty=False, watchdog=FAST)
    leader = subprocess.Popen(
        [shell, "-c", f"{shell} -c {shlex.quote(script)}; {token}"],
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_running(token, 2)
        wrapper_pid = int(
            subprocess.run(
                ["pgrep", "-P", str(leader.pid)], capture_output=True, text=True, check=True
            ).stdout.split()[0]
        )
        subprocess.run(["kill", "-KILL", str(wrapper_pid)], check=True)
        _wait_none(token)
        assert leader.wait(timeout=BOUND) == -signal.SIGTERM  # its group was ended
    finally:
        if leader.poll() is None:
            leader.kill()
            leader.wait()
        _kill_all(token)
