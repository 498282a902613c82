"""Shared fixtures: a real OpenSSH server on loopback addresses, clean configuration."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from execo import Host
from execo._core import _config
from execo.testbed import LoopbackSshd

N_HOSTS = 20


@pytest.fixture(scope="session")
def state_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the asyncssh transport's accept-new host keys go during the tests."""
    return tmp_path_factory.mktemp("state")


@pytest.fixture(autouse=True)
def _clean_configuration(monkeypatch: pytest.MonkeyPatch, state_home: Path) -> Iterator[None]:
    """Every test starts from built-in defaults, with no user configuration file, and never
    writes host keys into the real home directory."""
    monkeypatch.setenv("EXECO_CONFIG_FILE", "")
    monkeypatch.setenv("XDG_STATE_HOME", str(state_home))
    _config.reset_configuration()
    _config.configuration["kill_timeout"] = 2.0
    yield
    _config.reset_configuration()


@pytest.fixture(scope="session")
def sshd() -> Iterator[LoopbackSshd]:
    """A real sshd answering on 127.0.0.2 ... 127.0.0.21 (one host per address)."""
    with LoopbackSshd(N_HOSTS) as server:
        yield server


@pytest.fixture
def hosts(sshd: LoopbackSshd) -> list[Host]:
    return sshd.hosts


TRANSPORTS = ["ssh", "asyncssh"]


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """Each remote transport in turn: the OpenSSH client, then asyncssh."""
    return str(request.param)


def count_processes(token: str, *, exact: bool = False) -> int:
    """How many live (non-zombie) processes have ``token`` in their command line (with
    ``exact``: as their whole command line, e.g. the ``sleep`` itself, not the shells and
    ssh clients whose command lines contain it)."""
    out = subprocess.run(
        ["ps", "-ww", "-eo", "stat=,args="], capture_output=True, text=True, check=True
    ).stdout
    count = 0
    for line in out.splitlines():
        stat, _, args = line.strip().partition(" ")
        if stat.startswith("Z") or "ps -ww" in args:
            continue
        if (args.strip() == token) if exact else (token in args):
            count += 1
    return count


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def describe_processes(token: str) -> str:
    """The ps lines (pid, pgid, ppid, stat, args) of the processes matching ``token``."""
    out = subprocess.run(
        ["ps", "-ww", "-eo", "pid,pgid,ppid,stat,args"], capture_output=True, text=True, check=True
    ).stdout
    return "\n".join(line for line in out.splitlines() if token in line)
