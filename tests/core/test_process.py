"""Local processes: the state model, scopes, I/O, expect, handlers (FEATURES §1.7-1.9)."""

import io
import logging
import os
import signal
from pathlib import Path

import pytest
import trio

from execo import (
    ExecoUsageError,
    LineHandler,
    Process,
    ProcessBase,
    ProcessesFailed,
    ProcessLifecycleHandler,
    ProcessStatus,
    Stream,
    configuration,
)


async def test_u1_ls_root() -> None:
    p = await Process("ls /").run()
    assert p.started and p.ended and p.ok and p.finished_ok
    assert p.exit_code == 0 and p.exit_signal is None
    assert "bin" in p.stdout.split()
    assert p.stderr == ""
    assert p.pid is not None and p.start_date is not None and p.end_date is not None
    assert "ls /" in str(p)


async def test_u2_shell_nonzero_exit_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="execo")
    p = await Process("find /nonexistent-dir-xyz -user $USER", shell=True).run()
    assert p.exit_code == 1 and not p.ok and p.status == ProcessStatus.FAILED
    assert any(r.levelno == logging.WARNING and "find" in r.getMessage() for r in caplog.records)
    caplog.clear()
    p = await Process("exit 3", shell=True, nolog_exit_code=True).run()
    assert p.exit_code == 3 and not p.ok
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    p = await Process("exit 3", shell=True, ignore_exit_code=True).run()
    assert p.ok


async def test_exit_code_is_real_and_signal_separate() -> None:
    p = await Process(["sh", "-c", "exit 3"]).run()
    assert p.exit_code == 3  # not the raw wait status 768
    p = await Process(["sh", "-c", "kill -USR1 $$"]).run()
    assert p.exit_code is None and p.exit_signal == signal.SIGUSR1 and not p.ok


async def test_env_cwd_shell_argv(tmp_path: Path) -> None:
    p = await Process("echo $FOO; pwd", shell=True, env={"FOO": "bar"}, cwd=str(tmp_path)).run()
    assert p.stdout.split() == ["bar", str(tmp_path)]
    p = await Process(["printf", "%s|", "a b", "c"]).run()
    assert p.stdout == "a b|c|"
    p = await Process("printf '%s|' 'a b' c").run()  # shlex-split string
    assert p.stdout == "a b|c|"


async def test_pty() -> None:
    p = await Process("test -t 0 && test -t 1 && echo tty", shell=True, pty=True).run()
    assert p.ok and "tty" in p.stdout


async def test_bad_input_fails_clearly() -> None:
    bad: object
    for bad in ("", "   ", []):
        with pytest.raises(ValueError, match="empty command"):
            Process(bad)
    with pytest.raises(TypeError):
        Process(["ls", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="timeout"):
        Process("true", timeout=-1)
    p = await Process("/nonexistent/binary --x").run()
    assert p.error and p.status == ProcessStatus.ERROR and not p.ok
    assert p.error_reason == "command not found: /nonexistent/binary"
    p = await Process("true", cwd="/nonexistent-dir").run()
    assert p.error and "nonexistent-dir" in (p.error_reason or "")


async def test_timeout_kills_and_marks() -> None:
    with trio.fail_after(5):
        p = await Process("sleep 100", timeout=0.2).run()
    assert p.timeouted and p.killed and p.status == ProcessStatus.TIMEOUT
    assert p.exit_signal == signal.SIGTERM and not p.ok
    p = await Process("sleep 100", timeout=0.1, ignore_timeout=True, nolog_timeout=True).run()
    assert p.ok


async def test_forced_kill_after_grace() -> None:
    p = Process(
        ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"], kill_grace=0.3
    )
    async with p:
        assert await p.expect("ready")
        await p.kill()
    assert p.killed and p.forced_kill and p.exit_signal == signal.SIGKILL
    assert p.ok  # killed on purpose: ok, as in execo


async def test_run_check_raises_with_details() -> None:
    with pytest.raises(ProcessesFailed, match="exit code 4") as info:
        await Process("exit 4", shell=True, nolog_exit_code=True).run(check=True)
    assert info.value.processes[0].exit_code == 4


async def test_nursery_start_returns_when_started() -> None:
    async with trio.open_nursery() as nursery:
        p = await nursery.start(Process("sleep 0.2").run)
        assert isinstance(p, Process) and p.running and p.pid
    assert p.ended and p.ok


async def test_started_twice_is_usage_error_and_reset_reruns() -> None:
    p = await Process("echo hi").run()
    with pytest.raises(ExecoUsageError, match="already started"):
        await p.run()
    p.reset()
    assert not p.started and p.stdout == ""
    await p.run()
    assert p.stdout == "hi\n"


async def test_wait_before_start_is_usage_error() -> None:
    with pytest.raises(ExecoUsageError):
        await Process("true").wait()


async def test_write_close_stdin_and_write_error() -> None:
    p = Process("cat")
    async with p:
        await p.write("hello\n")
        await p.write(b"bytes\n")
        await p.close_stdin()
    assert p.stdout == "hello\nbytes\n" and p.ok
    q = Process("true", stdin=False, nolog_write_error=True)
    await q.run()
    await q.write("late")
    assert q.write_error and not q.ok


async def test_expect_first_match_wins_and_no_text_lost() -> None:
    p = Process(["printf", "b a\nc\n"])
    async with p:
        r1 = await p.expect(["a", "b"], timeout=5)
        assert r1.index == 1 and r1.match is not None and r1.match.group() == "b"
        r2 = await p.expect(["a", "b"], timeout=5)  # 'a' after 'b' is still there
        assert r2.index == 0
        idx, m = await p.expect("^c$", timeout=5)
        assert idx == 0 and m is not None


async def test_expect_returns_at_eof_and_timeout() -> None:
    p = Process("echo nothing-here", nolog_expect_fail=True)
    async with p:
        with trio.fail_after(5):
            r = await p.expect("never", timeout=None)
    assert not r and r.index is None and p.expect_fail and not p.ok
    q = Process("sleep 5", nolog_expect_fail=True)
    async with q:
        with trio.fail_after(3):
            r = await q.expect("never", timeout=0.2)
        assert not r and q.expect_fail
        await q.kill()
    z = Process("sleep 5", nolog_expect_fail=True)
    async with z:
        assert not await z.expect("x", timeout=0)  # does not block
        await z.kill()


async def test_expect_backtrack_false_sees_only_new_output() -> None:
    p = Process(["sh", "-c", "echo old; read x; echo new"])
    async with p:
        assert await p.expect("old")
        p2 = Process(["sh", "-c", "echo old; sleep 0.1; echo new"])
        async with p2:
            await trio.sleep(0.05)
            r = await p2.expect("old|new", backtrack=False, timeout=5)
            assert r.match is not None and r.match.group() == "new"
        await p.write("\n")


async def test_expect_on_stderr() -> None:
    p = Process(["sh", "-c", "echo listening >&2; sleep 0.1"])
    async with p:
        assert await p.expect("^listen", stream="stderr", timeout=5)


async def test_lines_iteration_and_crlf() -> None:
    p = Process(["printf", "a\r\nb\nc\rd"])
    async with p:
        lines = [line async for line in p.lines()]
    assert lines == ["a", "b", "c", "d"]


async def test_incremental_decoding_of_split_multibyte() -> None:
    # 'é' is two bytes: print them in separate writes with a pause in between.
    p = await Process(["sh", "-c", r"printf '\303'; sleep 0.1; printf '\251\n'"]).run()
    assert p.stdout == "é\n"


async def test_output_handlers_of_every_kind(tmp_path: Path) -> None:
    seen_lines: list[str] = []
    seen_chunks: list[tuple[Stream, str, bool]] = []
    handled: list[tuple[str, str]] = []

    class Lines(LineHandler):
        def on_line(self, process: ProcessBase, stream: Stream, line: str) -> None:
            handled.append((stream.value, line))

    class Chunks:
        def data_received(self, process: ProcessBase, stream: Stream, text: str, eof: bool) -> None:
            seen_chunks.append((stream, text, eof))

    buf = io.StringIO()
    path = tmp_path / "out.txt"
    p = await Process(
        ["sh", "-c", "echo one; echo two; echo err >&2"],
        stdout_handlers=[seen_lines.append, buf, str(path), Lines(), Chunks()],
        stderr_handlers=[Lines()],
    ).run()
    assert seen_lines == ["one", "two"]
    assert buf.getvalue() == "one\ntwo\n" == path.read_text()
    assert ("stdout", "two") in handled and ("stderr", "err") in handled
    assert "".join(t for _, t, _ in seen_chunks) == "one\ntwo\n" and seen_chunks[-1][2]
    assert p.ok


async def test_handler_exception_is_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    def boom(line: str) -> None:
        raise RuntimeError("handler bug")

    p = await Process("echo x", stdout_handlers=[boom]).run()
    assert p.ok and p.stdout == "x\n"
    assert any("handler" in r.getMessage() for r in caplog.records)


def test_bad_handler_rejected_early() -> None:
    with pytest.raises(TypeError, match="output handler"):
        Process("true", stdout_handlers=[42])  # type: ignore[list-item]


async def test_lifecycle_hooks() -> None:
    events: list[str] = []

    class Hooks(ProcessLifecycleHandler):
        def start(self, process: ProcessBase) -> None:
            events.append("start")

        def end(self, process: ProcessBase) -> None:
            events.append(f"end:{process.exit_code}")

        def reset(self, process: ProcessBase) -> None:
            events.append("reset")

    p = await Process("true", lifecycle_handlers=[Hooks()]).run()
    p.reset()
    await Process("/nonexistent", lifecycle_handlers=[Hooks()]).run()
    assert events == ["start", "end:0", "reset", "start", "end:None"]


async def test_capture_off_keeps_handlers() -> None:
    got: list[str] = []
    p = await Process("echo hi", default_stdout_handler=False, stdout_handlers=[got.append]).run()
    assert p.stdout == "" and got == ["hi"]
    with pytest.raises(ExecoUsageError):
        q = Process("echo hi", default_stdout_handler=False)
        async with q:
            await q.expect("hi")


async def test_handlers_and_capture_are_attributes_read_at_the_start() -> None:
    """FEATURES §1.7: every parameter is a mutable attribute; handlers appended (or capture
    turned off) after the construction take effect at the next start."""
    got: list[str] = []
    p = Process("echo hi; echo err >&2", shell=True)
    p.stdout_handlers.append(got.append)
    p.stderr_handlers.append(lambda line: got.append("E:" + line))
    p.default_stdout_handler = False
    await p.run()
    assert sorted(got) == ["E:err", "hi"] and p.stdout == "" and p.stderr == "err\n"
    p.reset()
    p.stdout_handlers.clear()
    p.default_stdout_handler = True
    await p.run()
    assert sorted(got) == ["E:err", "E:err", "hi"] and p.stdout == "hi\n"
    q = Process("true")
    q.stdout_handlers.append(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="output handler 42"):
        await q.run()
    assert not q.started


async def test_stats_and_dump() -> None:
    p = await Process("echo out; echo err >&2; exit 1", shell=True, nolog_exit_code=True).run()
    s = p.stats()
    assert s["num_processes"] == 1 and s["num_non_zero_exit_codes"] == 1 and s["num_ok"] == 0
    assert "out" in p.dump() and "err" in p.dump()


async def test_env_is_added_not_replaced() -> None:
    p = await Process("echo $PATH", shell=True, env={"X": "1"}).run()
    assert p.stdout.strip() == os.environ["PATH"]


async def test_the_log_level_is_applied_at_each_start_and_set_only_when_it_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``Logger.setLevel`` clears the cache of every logger of the program: a start calls it
    only when ``configuration["log_level"]`` differs from the execo logger's level."""
    execo_logger = logging.getLogger("execo")
    calls: list[int] = []
    real = execo_logger.setLevel

    def counting(level: int | str) -> None:
        calls.append(logging.getLevelName(level) if isinstance(level, str) else level)
        real(level)

    real(logging.WARNING)
    monkeypatch.setattr(execo_logger, "setLevel", counting)
    configuration["log_level"] = logging.INFO
    for _ in range(3):
        await Process("true").run()
    assert execo_logger.level == logging.INFO
    assert calls == [logging.INFO]
    configuration["log_level"] = "DEBUG"
    await Process("true").run()
    await Process("true").run()
    assert execo_logger.level == logging.DEBUG
    assert calls == [logging.INFO, logging.DEBUG]
    real(logging.WARNING)
