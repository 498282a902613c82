"""The heartbeat keeper's remote side, run here under bash and under dash (the two shells a
login shell usually is): it says KEEPING; when its input ends, or (bash, or dash's watchdog)
when no beat comes for its stale bound, it ends every command registered with it. Under bash
it keeps with no process of its own at all (``read -t``): an idle keeper forks nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from execo._transports._remote_command import Watchdog, keeper_command, registration

SHELLS = [s for s in ("bash", "dash") if shutil.which(s)]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def _children(pid: int) -> list[str]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return f.read().split()


def _wait_gone(pid: int, bound: float) -> float:
    start = time.monotonic()
    while _alive(pid):
        if time.monotonic() - start > bound:
            raise AssertionError(f"pid {pid} still alive after {bound} s")
        time.sleep(0.05)
    return time.monotonic() - start


class Keeper:
    def __init__(self, shell: str, tmp: Path, stale: float) -> None:
        self.name = f".execo-hb-test-{shell}"
        self.env = {**os.environ, "TMPDIR": str(tmp)}
        script = keeper_command(self.name, Watchdog(period=0.2, grace=0.5, stale=stale))
        self.proc = subprocess.Popen(
            [shell, "-c", script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self.env,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline() == b"KEEPING\n"
        self.registry = tmp / f"{self.name}.reg"
        self.commands: list[subprocess.Popen[bytes]] = []

    def beat(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"\n")
        self.proc.stdin.flush()

    def registered_command(self) -> int:
        """A command in a group of its own that registers like a warm command does."""
        code = f"if {registration(self.name)}; then sleep 300; fi; :"
        p = subprocess.Popen(["sh", "-c", code], start_new_session=True, env=self.env)
        self.commands.append(p)
        deadline = time.monotonic() + 10
        while str(p.pid) not in self.registry.read_text().split():
            assert time.monotonic() < deadline, "the command did not register"
            time.sleep(0.02)
        return p.pid

    def end(self) -> None:
        for p in [*self.commands, self.proc]:
            if p.poll() is None:
                os.killpg(p.pid, 9)
            p.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()


@pytest.mark.parametrize("shell", SHELLS)
def test_the_end_of_its_input_ends_the_registered_commands(shell: str, tmp_path: Path) -> None:
    keeper = Keeper(shell, tmp_path, stale=30)
    try:
        pids = [keeper.registered_command() for _ in range(3)]
        keeper.beat()
        time.sleep(0.3)
        assert all(_alive(p) for p in pids)
        assert keeper.proc.stdin is not None
        keeper.proc.stdin.close()  # the connection ended
        for p in pids:
            _wait_gone(p, 10)
        assert keeper.proc.wait(10) is not None
        assert not keeper.registry.exists()
    finally:
        keeper.end()


@pytest.mark.parametrize("shell", SHELLS)
def test_missing_beats_end_the_registered_commands(shell: str, tmp_path: Path) -> None:
    keeper = Keeper(shell, tmp_path, stale=1.5)
    try:
        pid = keeper.registered_command()
        for _ in range(5):  # beats keep it: 1.5 s pass without an end
            keeper.beat()
            time.sleep(0.3)
        assert _alive(pid)
        # No more beats, the input still open: a link cut silently.
        _wait_gone(pid, 15)
    finally:
        keeper.end()


@pytest.mark.skipif("bash" not in SHELLS, reason="needs bash")
def test_under_bash_a_keeper_forks_nothing_while_it_keeps(tmp_path: Path) -> None:
    keeper = Keeper("bash", tmp_path, stale=30)
    try:
        for _ in range(5):
            keeper.beat()
            time.sleep(0.2)
            assert _children(keeper.proc.pid) == []
    finally:
        keeper.end()


@pytest.mark.parametrize("shell", SHELLS)
def test_a_command_starting_as_its_keeper_ends_is_told_it_is_not_registered(
    shell: str, tmp_path: Path
) -> None:
    # A command whose session starts while its connection is ending registers after the
    # keeper has swept (or once it is gone): it must not take itself as guarded, and start a
    # watchdog of its own instead. Registered while the keeper lives: it is guarded.
    keeper = Keeper(shell, tmp_path, stale=30)
    env = keeper.env
    probe = f"if {registration(keeper.name)}; then echo registered; else echo own; fi"
    try:
        assert subprocess.run(["sh", "-c", probe], env=env, capture_output=True).stdout == (
            b"registered\n"
        )
        assert keeper.proc.stdin is not None
        keeper.proc.stdin.close()  # the connection ended
        assert keeper.proc.wait(10) is not None
        assert subprocess.run(["sh", "-c", probe], env=env, capture_output=True).stdout == (
            b"own\n"
        )
    finally:
        keeper.end()
