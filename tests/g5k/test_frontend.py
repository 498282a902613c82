"""Where frontend commands run, and how they are quoted (no process is started)."""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Iterator

import pytest

from execo import Host, Process, SshProcess
from execo_g5k import config as g5k_config
from execo_g5k._frontend import frontend_process
from execo_g5k.utils import get_default_frontend, get_frontend_host


@pytest.fixture
def configure() -> Iterator[object]:
    previous = g5k_config.current_g5k_configuration()

    def set_(**changes: object) -> None:
        g5k_config.set_g5k_configuration(dataclasses.replace(previous, **changes))  # type: ignore[arg-type]

    yield set_
    g5k_config.set_g5k_configuration(previous)


def test_frontend_choice(configure) -> None:
    configure(default_frontend=None)
    assert get_frontend_host("lyon") == Host("lyon")
    configure(default_frontend="nancy")
    assert get_default_frontend() == "nancy"
    assert get_frontend_host() == Host("nancy")
    assert get_frontend_host("lyon") == Host("lyon")
    configure(default_frontend="nancy", no_ssh_for_local_frontend=True)
    assert get_frontend_host() is None and get_frontend_host("nancy") is None
    assert get_frontend_host("lyon") == Host("lyon")


def test_commands_are_quoted_and_run_in_utc(configure) -> None:
    configure(default_frontend=None, default_timeout=42.0)
    argv = ["oarsub", "-p", "cluster='a b' AND x>1", "-n", "my job; rm -rf ~"]
    remote = frontend_process(argv, "lyon", frontend_connection_params={"user": "jdoe"})
    assert isinstance(remote, SshProcess)
    assert remote.timeout == 42.0 and not remote.pty
    assert remote.params.user == "jdoe"
    assert remote.params.rewritten_address("lyon") == "lyon.grid5000.fr"
    assert shlex.split(remote.remote_cmd) == ["env", "TZ=UTC0", "LC_ALL=C", *argv]
    local = frontend_process(argv, None, timeout=None)
    assert isinstance(local, Process) and local.argv() == argv
    assert local.env is not None and local.env["TZ"] == "UTC0" and local.timeout is None
