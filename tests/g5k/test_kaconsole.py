"""KaconsoleProcess against the stand-in kaconsole3 (``standins/kaconsole3``: kaconsole3's
terminal handling and kill sequence, conman's banner, a node's login console), run here and
on a "frontend" reached over real ssh (``ssh -tt``, the loopback sshd)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from execo import ExecoUsageError, ProcessStatus
from execo.testbed import LoopbackSshd
from execo_g5k import KaconsoleProcess
from execo_g5k import config as g5k_config

from .wrappers import standin_wrapper


@pytest.fixture
def console_log(tmp_path: Path) -> Iterator[Path]:
    """Where the stand-in logs login attempts; a wrapper (``kaconsole3`` beside it) passes
    that on, also over ssh. No default frontend."""
    log = tmp_path / "logins"
    standin_wrapper(tmp_path / "kaconsole3", "kaconsole3", KACONSOLE_STANDIN_LOG=log)
    previous = g5k_config.set_g5k_configuration(
        dataclasses.replace(g5k_config.current_g5k_configuration(), default_frontend=None)
    )
    try:
        yield log
    finally:
        g5k_config.set_g5k_configuration(previous)


def kaconsole(log: Path) -> str:
    return str(log.with_name("kaconsole3"))


def logins(log: Path) -> str:
    return log.read_text()


async def test_login_commands_and_close_here(console_log: Path) -> None:
    """No frontend: kaconsole3 runs here, in a pty; login, a command, the kill sequence."""
    console = KaconsoleProcess("node-1", kaconsole3=kaconsole(console_log))
    assert console.argv() == [kaconsole(console_log), "-m", "node-1"]
    with pytest.raises(ExecoUsageError, match="before the process started"):
        await console.wait_connected()
    async with console:
        assert await console.wait_connected()
        assert console.connected
        await console.write("echo $((6 * 7))\n")
        assert await console.expect(r"^42\r?$")
        assert await console.expect_prompt()
        assert await console.wait_connected()  # logged in once only
    assert console.ended and console.status == ProcessStatus.OK  # closed, not killed
    assert "<ConMan> Connection to console [node-1] closed." in console.stdout
    assert logins(console_log) == "login root ok\n"
    assert "grid5000" not in repr(console) and "grid5000" not in console.stdout


async def test_over_ssh_on_the_frontend_and_wrong_password(
    console_log: Path, sshd: LoopbackSshd
) -> None:
    """``node.site.grid5000.fr``: kaconsole3 runs on the site's frontend over ``ssh -tt``;
    a wrong password is refused by the console and wait_connected says so."""
    frontend_params = {
        "host_rewrite_func": lambda site: "127.0.0.3",
        "port": sshd.port,
        "keyfile": str(sshd.keyfile),
    }
    console = KaconsoleProcess(
        "node-2.site.grid5000.fr",
        frontend_connection_params=frontend_params,
        console_password="wrong",
        connection_timeout=3,
        kaconsole3=kaconsole(console_log),
    )
    assert console.frontend == "site"
    assert "-tt" in console.argv() and "127.0.0.3" in console.argv()
    async with console:
        assert not await console.wait_connected()
    assert "Login incorrect" in console.stdout
    assert logins(console_log) == "login root refused\n"

    console = KaconsoleProcess(
        "node-2.site.grid5000.fr", frontend_connection_params=frontend_params,
        kaconsole3=kaconsole(console_log),
    )  # fmt: skip
    async with console:
        assert await console.wait_connected()
        await console.write("hostname >/dev/null && echo ran-on-the-frontend\n")
        assert await console.expect("ran-on-the-frontend\r?\n")
    assert console.status == ProcessStatus.OK


def test_bad_prompt_regex_fails_at_construction() -> None:
    with pytest.raises(re.error, match=r"unterminated|missing"):
        KaconsoleProcess("node-1", prompt="root@[")
