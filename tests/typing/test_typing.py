"""Typing reaches users' code: mypy --strict rejects each misspelled keyword of
must_fail/user_typos.py, exactly where marked, and nothing else; at run time the same
mistakes raise a TypeError that names the user's class and the closest valid keyword."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest

from execo import (
    ChainPut,
    CopyProcess,
    Get,
    Host,
    Local,
    ParallelActions,
    Process,
    Put,
    Remote,
    RemoteSerial,
    SequentialActions,
    Serial,
    SerialSsh,
    SshProcess,
    TaktukGet,
    TaktukProcess,
    TaktukPut,
    TaktukRemote,
    get_fileget,
    get_fileput,
    get_process,
    get_remote,
)

MUST_FAIL = Path(__file__).parent / "must_fail" / "user_typos.py"
ROOT = Path(__file__).parents[2]


def expected_errors() -> set[tuple[int, str]]:
    out = set()
    for number, line in enumerate(MUST_FAIL.read_text().splitlines(), start=1):
        m = re.search(r"# E: ([a-z-]+)$", line)
        if m:
            out.add((number, m.group(1)))
    return out


def test_mypy_rejects_each_misspelled_keyword_and_nothing_else() -> None:
    expected = expected_errors()
    assert len(expected) >= 30
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", str(MUST_FAIL)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    found = set()
    for line in run.stdout.splitlines():
        m = re.match(r".*user_typos\.py:(\d+): error: .*\[([a-z-]+)\]$", line)
        if m:
            found.add((int(m.group(1)), m.group(2)))
    assert run.returncode == 1, run.stdout + run.stderr
    assert found == expected, run.stdout


HOSTS = [Host("node-1"), Host("node-2")]

# (what to call, its positional arguments, the misspelled keyword, the name to suggest)
RUNTIME_TYPOS: list[tuple[Any, tuple[Any, ...], str, str]] = [
    (Process, ("true",), "timout", "timeout"),
    (SshProcess, ("true", HOSTS[0]), "nolog_exit_cod", "nolog_exit_code"),
    (TaktukProcess, ("true", HOSTS[0]), "timout", "timeout"),
    (CopyProcess, (HOSTS[0], "put", ["a"], "."), "timeot", "timeout"),
    (Local, ("true",), "timout", "timeout"),
    (Remote, ("true", HOSTS), "timout", "timeout"),
    (Remote, ("true", HOSTS), "conection_params", "connection_params"),
    (Put, (HOSTS, ["a"]), "timeot", "timeout"),
    (Get, (HOSTS, ["a"]), "timeot", "timeout"),
    (TaktukRemote, ("true", HOSTS), "fanuot", "fanout"),
    (TaktukPut, (HOSTS, ["/etc/hostname"]), "timeot", "timeout"),
    (TaktukGet, (HOSTS, ["/etc/hostname"]), "timeot", "timeout"),
    (ChainPut, (HOSTS, ["/etc/hostname"]), "timeot", "timeout"),
    (ParallelActions, ([],), "hide_subaction", "hide_subactions"),
    (SequentialActions, ([],), "stop_on_failur", "stop_on_failure"),
    (Serial, ("/dev/ttyS0", 9600), "timout", "timeout"),
    (SerialSsh, (HOSTS[0], "/dev/ttyS0", 9600), "timout", "timeout"),
    (RemoteSerial, (HOSTS, "/dev/ttyS0", 9600), "timout", "timeout"),
    (get_process, ("true", HOSTS[0]), "transprot", "transport"),
    (get_remote, ("true", HOSTS), "remote_tol", "remote_tool"),
    (get_fileput, (HOSTS, ["a"]), "fileput_tol", "fileput_tool"),
    (get_fileget, (HOSTS, ["a"]), "fileget_tol", "fileget_tool"),
]


@pytest.mark.parametrize(("build", "args", "typo", "closest"), RUNTIME_TYPOS)
def test_runtime_typo_names_the_class_and_the_closest_keyword(
    build: Any, args: tuple[Any, ...], typo: str, closest: str
) -> None:
    wrong: dict[str, Any] = {typo: 1}
    with pytest.raises(TypeError) as info:
        build(*args, **wrong)
    message = str(info.value)
    assert message.startswith(f"{build.__name__}("), message
    assert f"{typo!r}; did you mean {closest!r}?" in message, message


class MyRemote(Remote):
    """A user's subclass: the error names it, not Action or Remote."""


def test_runtime_typo_names_the_users_subclass() -> None:
    expected = "^MyRemote\\(\\) got an unexpected keyword argument 'timout'; did you mean 'timeout'"
    with pytest.raises(TypeError, match=expected):
        MyRemote("true", HOSTS, timout=1)  # type: ignore[call-arg]


@pytest.mark.parametrize("action", [Remote, TaktukRemote])
def test_a_process_option_given_to_the_action_points_at_process_args(action: type) -> None:
    with pytest.raises(
        TypeError, match=r"ignore_exit_code.*process_args=\{'ignore_exit_code': \.\.\.\}"
    ):
        action("true", HOSTS, ignore_exit_code=True)
    with pytest.raises(TypeError, match=r"process_args=\{'nolog_error'"):
        Put(HOSTS, ["a"], nolog_error=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"process_args=\{'stdin'"):
        get_remote("true", HOSTS, stdin=False)  # type: ignore[call-arg]


def test_a_typo_inside_process_args_is_named_too() -> None:
    expected = "^Remote\\(\\): process_args has an unexpected key 'timout'; did you mean 'timeout'"
    with pytest.raises(TypeError, match=expected):
        Remote("true", HOSTS, process_args=cast(Any, {"timout": 1}))
    with pytest.raises(TypeError, match="process_args has an unexpected key 'pty'"):
        TaktukRemote("true", HOSTS, process_args=cast(Any, {"pty": True}))
    with pytest.raises(TypeError, match="process_args has an unexpected key 'shel'"):
        Local("true", process_args=cast(Any, {"shel": True}))
