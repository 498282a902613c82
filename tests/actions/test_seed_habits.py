"""The seed's habits, fixed: ``~`` in local paths, Get makes its directory, copies have
readable names, an ignored exit code logs nothing, a failed action logs one warning (hosts
folded) with the per-process dumps at DEBUG; what actions show in a REPL."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from execo import Get, Local, Process, Put, Remote, configuration
from execo.testbed import LoopbackSshd

COPY_TRANSPORTS = ["scp", "asyncssh", "taktuk"]


def _params(sshd: LoopbackSshd) -> dict[str, object]:
    return {"port": sshd.port, "keyfile": str(sshd.keyfile)}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.mark.parametrize("transport", COPY_TRANSPORTS)
async def test_tilde_and_missing_local_directories(
    sshd: LoopbackSshd, home: Path, transport: str
) -> None:
    if transport == "taktuk" and shutil.which("taktuk") is None:
        pytest.skip("taktuk not installed")
    (home / "f.txt").write_text(f"via {transport}\n")
    remote_dir = f"habits-{transport}"
    await Remote(f"mkdir -p {remote_dir}", "127.0.0.2", connection_params=_params(sshd)).run(
        check=True
    )
    put = Put("127.0.0.[2-3]", ["~/f.txt"], f"{remote_dir}/", connection_params=_params(sshd),
              transport=transport)  # fmt: skip
    await put.run(check=True)
    assert (sshd.home / remote_dir / "f.txt").read_text() == f"via {transport}\n"
    get = Get("127.0.0.[2-3]", [f"{remote_dir}/f.txt"], "~/results/{{{host}}}/copies",
              connection_params=_params(sshd), transport=transport)  # fmt: skip
    assert not (home / "results").exists()  # nothing happens before the run
    await get.run(check=True)
    for address in ("127.0.0.2", "127.0.0.3"):
        got = home / "results" / address / "copies" / "f.txt"
        assert got.read_text() == f"via {transport}\n"


def test_copy_processes_have_readable_names(tmp_path: Path) -> None:
    put = Put("127.0.0.2", [str(tmp_path / "f.txt")], "/tmp/")
    assert put.processes[0].name == "put f.txt → 127.0.0.2:/tmp/"
    get = Get("127.0.0.[2-3]", ["/var/log/syslog", "/etc/hosts"], "out")
    assert [p.name for p in get.processes] == [
        "get 127.0.0.2:syslog hosts → out",
        "get 127.0.0.3:syslog hosts → out",
    ]


def _execo_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "execo" and r.levelno == level]


async def test_ignored_exit_code_logs_no_warning(
    caplog: pytest.LogCaptureFixture, sshd: LoopbackSshd
) -> None:
    caplog.set_level(logging.DEBUG)
    p = await Process("false", ignore_exit_code=True).run()
    assert p.ok and p.exit_code == 1
    r = await Remote("exit 4", "127.0.0.[2-3]", connection_params=_params(sshd),
                     process_args={"ignore_exit_code": True}).run()  # fmt: skip
    assert r.ok
    assert _execo_records(caplog, logging.WARNING) == []


async def test_a_failed_action_logs_one_summary_warning(
    caplog: pytest.LogCaptureFixture, sshd: LoopbackSshd
) -> None:
    configuration["log_level"] = "DEBUG"
    caplog.set_level(logging.DEBUG)
    r = await Remote("test {{{host}}} = 127.0.0.2 || exit 3", "127.0.0.[2-5]",
                     connection_params=_params(sshd)).run()  # fmt: skip
    warnings = _execo_records(caplog, logging.WARNING)
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert message.splitlines() == [
        "test {{{host}}} = 127.0.0.2 || exit 3: 3 of 4 processes failed on 127.0.0.[3-5]:",
        "  127.0.0.[3-5]: 'test {{{host}}} = 127.0.0.2 || exit 3': failed: exit code 3",
    ]
    dumps = [m for m in _execo_records(caplog, logging.DEBUG) if "exit_code=3" in m.getMessage()]
    assert len(dumps) == 3  # each failed process's own dump, at DEBUG
    assert not r.ok


async def test_a_process_on_its_own_still_warns_with_its_dump(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await Process("sh -c 'echo why >&2; exit 2'").run()
    (warning,) = _execo_records(caplog, logging.WARNING)
    assert "exit_code=2" in warning.getMessage() and "why" in warning.getMessage()


async def test_action_reprs_and_timeline(sshd: LoopbackSshd, tmp_path: Path) -> None:
    r = Remote("test {{{host}}} = 127.0.0.2", "127.0.0.[2-4]", connection_params=_params(sshd),
               process_args={"nolog_exit_code": True})  # fmt: skip
    assert repr(r) == "<Remote 'test {{{host}}} = 127.0.0.2' 3 processes: not started>"
    await r.run()
    assert repr(r) == (
        "<Remote 'test {{{host}}} = 127.0.0.2' 3 processes: 1 ok, 2 failed (127.0.0.[3-4])>"
    )

    class Printer:
        text_ = ""

        def text(self, s: str) -> None:
            self.text_ += s

    printer = Printer()
    r._repr_pretty_(printer, False)
    assert printer.text_ == repr(r)
    r.timeline(tmp_path / "r.svg")
    assert "127.0.0.3" in (tmp_path / "r.svg").read_text()
    local = Local("sleep 5")
    async with local:
        assert repr(local) == "<Local 'sleep 5' 1 process: 0 ok, 1 running>"
        await local.kill()
