"""What users see: the progress bar (rich on a terminal, plain lines elsewhere), the
Report table (rich on a terminal, plain text elsewhere, failed hosts folded), the reprs,
and that ``import execo`` imports none of rich, ClusterShell or matplotlib."""

from __future__ import annotations

import fcntl
import io
import os
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator

import pytest
import trio

from execo import (
    Host,
    Local,
    LocalProcessOptions,
    ParallelActions,
    Remote,
    Report,
    get_hosts_list,
    progress,
)
from execo._display._console import progress_line
from execo.testbed import LoopbackSshd


class Pty:
    """A pseudo-terminal: ``out`` is its terminal side (a tty), ``read()`` what was drawn."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
        os.set_blocking(self.master, False)
        self.out = os.fdopen(slave, "w")
        self.data = b""

    def read(self) -> str:
        self.out.flush()
        try:
            while chunk := os.read(self.master, 65536):
                self.data += chunk
        except BlockingIOError:
            pass
        return self.data.decode(errors="replace")

    def close(self) -> None:
        self.out.close()
        os.close(self.master)


@pytest.fixture
def pty() -> Iterator[Pty]:
    terminal = Pty()
    yield terminal
    terminal.close()


def _actions() -> ParallelActions:
    quiet: LocalProcessOptions = {"nolog_exit_code": True}
    return ParallelActions(
        [Local(f"sleep 0.{i}") for i in (1, 2, 3)] + [Local("false", process_args=quiet)]
    )


async def test_progress_draws_a_rich_bar_on_a_pty(pty: Pty) -> None:
    assert pty.out.isatty()
    actions = _actions()
    async with progress(actions, out=pty.out, interval=0.05), actions:
        pass
    drawn = pty.read()
    assert "\x1b[" in drawn  # ANSI: colours and cursor moves
    assert "━" in drawn  # the bar
    assert "4/4" in drawn  # done/total
    assert "1 failed" in drawn
    assert "elapsed" in drawn and "left" in drawn
    last = drawn.rsplit("\x1b[2K", 1)[-1]
    assert "4/4" in last  # the final state is what stays on the screen


async def test_progress_is_plain_text_elsewhere() -> None:
    out = io.StringIO()
    actions = _actions()
    async with progress(actions, out=out), actions:
        pass
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("4/4 done, 1 failed (false), ")
    assert "\x1b[" not in out.getvalue()


async def test_plain_progress_lines_while_it_runs() -> None:
    out = io.StringIO()
    action = Local("sleep 0.6")
    async with progress(action, out=out, plain_interval=0.2), action:
        pass
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("0/1 done")
    assert lines[-1].startswith("1/1 done")


def test_progress_line_folds_failed_hosts() -> None:
    r = Remote("true", "node-[1-3]")
    assert progress_line(r.processes, 1.25) == "0/3 done, 1.2 s"


async def test_report_plain_text_names_the_failed_hosts(sshd: LoopbackSshd) -> None:
    params = {"port": sshd.port, "keyfile": str(sshd.keyfile)}
    ok = await Remote("true", "127.0.0.[2-5]", connection_params=params, name="fine").run()
    bad = Remote("exit 3", "127.0.0.[6-7]", connection_params=params, name="broken")
    await bad.run()
    report = Report([ok, bad], name="xp")
    text = str(report)
    lines = text.splitlines()
    header = lines[0].split()
    assert header[:8] == ["Name", "start", "end", "duration", "processes", "started", "ended", "ok"]
    assert "non-zero" in lines[0] and "timeouts" not in lines[0]  # only useful columns
    assert [line.split()[0] for line in lines[1:4]] == ["fine", "broken", "Total"]
    assert lines[-1] == "failed: 127.0.0.[6-7] (2 processes)"
    assert len({len(line) for line in lines[:4]}) == 1  # aligned, one line per row
    assert "\x1b[" not in text
    assert repr(report) == "<Report 'xp' 2 objects, 6 processes: 4 ok, 2 failed (127.0.0.[6-7])>"
    assert report.failed == bad.processes


async def test_report_is_a_rich_table_on_a_pty(pty: Pty) -> None:
    action = await Local("false", process_args={"nolog_exit_code": True}, name="f").run()
    Report([action], name="one").print(pty.out)
    drawn = pty.read()
    assert "┃" in drawn or "│" in drawn  # rich's box drawing
    assert "processes" in drawn and "non-zero exit" in drawn
    out = io.StringIO()
    Report([action]).print(out)
    assert out.getvalue() == str(Report([action])) + "\n"


def test_reprs_for_ipython() -> None:
    class Printer:
        def __init__(self) -> None:
            self.text_ = ""

        def text(self, s: str) -> None:
            self.text_ += s

    h = Host("node-1", port=2222)
    assert repr(h) == "Host('node-1', port=2222)"
    assert get_hosts_list("n-[1-2]") == [Host("n-1"), Host("n-2")]
    p = Printer()
    h._repr_pretty_(p, False)
    assert p.text_ == "Host('node-1', port=2222)"
    p = Printer()
    Report([Local("true")], name="r")._repr_pretty_(p, False)
    assert p.text_.startswith("Name")


def test_import_execo_stays_cheap() -> None:
    code = (
        "import sys, execo, execo.testbed\n"
        "heavy = ('rich', 'ClusterShell', 'matplotlib', 'httpx', 'keyring', 'asyncssh')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(heavy)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


async def test_cancelled_progress_leaves_the_terminal_clean(pty: Pty) -> None:
    action = Local("sleep 5")
    with trio.move_on_after(0.3):
        async with progress(action, out=pty.out, interval=0.05), action:
            pass
    drawn = pty.read()
    assert drawn.endswith("\x1b[?25h")  # the cursor is shown again
