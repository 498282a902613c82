"""execo 2.8.2 names: ProcessOutputHandler, ExpectOutputHandler, ActionFactory /
default_action_factory, ActionsFailed (real local processes, real ssh for the factory)."""

from __future__ import annotations

import pytest
import trio

from execo import (
    STDERR,
    STDOUT,
    ActionFactory,
    ActionsFailed,
    ChainPut,
    ExecoError,
    ExpectOutputHandler,
    Host,
    Local,
    Process,
    ProcessBase,
    ProcessOutputHandler,
    Put,
    Remote,
    Stream,
    TaktukRemote,
    configuration,
    default_action_factory,
)


class Lines(ProcessOutputHandler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, Stream, str]] = []

    def read_line(self, process: ProcessBase, stream: Stream, string: str) -> None:
        self.lines.append((process.name, stream, string))


async def test_process_output_handler_read_line() -> None:
    """execo's read_line(process, stream, string): whole lines, \\r\\n is one line end (execo
    made an extra empty line), the last partial line comes at the end; one handler for two
    processes and both streams."""
    h = Lines()
    a = Process("printf 'a1\\r\\na2\\n'; printf 'e1\\n' >&2; printf 'tail'", shell=True,
                name="a", stdout_handlers=[h], stderr_handlers=[h])  # fmt: skip
    b = Process("echo b1", name="b", stdout_handlers=[h])
    await a.run()
    await b.run()
    assert sorted(h.lines) == sorted(
        [("a", STDOUT, "a1"), ("a", STDOUT, "a2"), ("a", STDOUT, "tail"), ("a", STDERR, "e1"),
         ("b", STDOUT, "b1")]
    )  # fmt: skip


async def test_process_output_handler_read_gets_chunks_and_eof() -> None:
    class Chunks(ProcessOutputHandler):
        def __init__(self) -> None:
            super().__init__()
            self.text = ""
            self.eofs = 0

        def read(
            self, process: ProcessBase, stream: Stream, string: str, eof: bool, error: bool
        ) -> None:
            self.text += string
            self.eofs += eof

    h = Chunks()
    await Process("printf 'x\\ny'", shell=True, stdout_handlers=[h]).run()
    assert (h.text, h.eofs) == ("x\ny", 1)


async def test_expect_output_handler_on_several_processes() -> None:
    h = ExpectOutputHandler()
    fast = Process("echo ready-fast; sleep 30", shell=True, stdout_handlers=[h], name="fast")
    slow = Process("sleep 0.5; echo ready-slow; sleep 30", shell=True,
                   stdout_handlers=[h], name="slow")  # fmt: skip
    async with trio.open_nursery() as nursery:
        nursery.start_soon(fast.run)
        nursery.start_soon(slow.run)
        found = await h.expect(r"^ready-(\w+)", timeout=20)
        assert [(p.name, s, i, m.group(1)) for (p, s), (i, m) in found.items()] == [
            ("fast", STDOUT, 0, "fast")
        ]
        found = await h.expect([r"nothing", r"^ready-(\w+)"], timeout=20)
        assert [(p.name, i, m.group(1)) for (p, _), (i, m) in found.items()] == [
            ("slow", 1, "slow")
        ]
        assert await h.expect("ready", timeout=0) == {}  # nothing new: no wait
        assert await h.expect("never", timeout=0.2) == {}
        await fast.kill()
        await slow.kill()


async def test_expect_output_handler_earliest_match_and_end_of_streams() -> None:
    h = ExpectOutputHandler()
    await Process("echo 'b a b'", stdout_handlers=[h]).run()
    # execo 2.8.2 returned the *last* regex that matched, after skipping text; here the
    # earliest match on the stream wins and the next expect goes on from there.
    ((_, (i, m)),) = (await h.expect(["a", "b"])).items()
    assert (i, m.start()) == (1, 0)
    ((_, (i, m)),) = (await h.expect(["a", "b"])).items()
    assert (i, m.start()) == (0, 2)
    assert await h.expect("zzz") == {}  # every watched stream has ended: no hang


async def test_action_factory_binds_tools(hosts: list[Host]) -> None:
    taktuk = ActionFactory(remote_tool="taktuk")
    assert isinstance(taktuk.get_remote("true", hosts[:2]), TaktukRemote)
    r = ActionFactory(remote_tool="asyncssh").get_remote("echo hi", hosts[:2])
    assert isinstance(r, Remote) and r.transport.name == "asyncssh"
    await r.run(check=True)
    assert [p.stdout for p in r.processes] == ["hi\n", "hi\n"]
    assert isinstance(
        ActionFactory(fileput_tool="chainput").get_fileput(hosts, ["/etc/hostname"]), ChainPut
    )
    # default_action_factory reads the configuration when each action is made (execo 2.8.2
    # fixed it at import).
    assert isinstance(default_action_factory.get_remote("true", hosts[:1]), Remote)
    configuration["remote_tool"] = "taktuk"
    assert isinstance(default_action_factory.get_remote("true", hosts[:1]), TaktukRemote)
    assert isinstance(default_action_factory.get_fileput(hosts[:1], ["/etc/hostname"]), Put)
    assert "remote_tool=None" in repr(default_action_factory)


async def test_actions_failed() -> None:
    good = await Local("true").run()
    bad = await Local("exit 3", process_args={"shell": True, "nolog_exit_code": True}).run()
    error = ActionsFailed([good, bad])
    assert isinstance(error, ExecoError) and error.actions == [good, bad]
    assert "2 action(s) failed" in str(error) and "0 of 1 failed" in str(error)
    assert "1 of 1 failed" in str(error) and "exit code 3" in str(error)
    with pytest.raises(ActionsFailed):
        raise error
