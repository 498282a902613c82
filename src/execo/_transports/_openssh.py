"""The OpenSSH transport: a remote command run by the ``ssh`` client as a local subprocess.

Every remote command is prefixed with a line that reports the remote shell's pid on stderr
(on stdout with a pty). sshd makes that shell a session and process-group leader, so the pid
is also the remote process group: killing means ``kill -TERM -- -PGID`` on the remote host,
escalated to SIGKILL after the grace period, through a second ssh connection; then the
local ssh client ends. The marker line is stripped from the output. A command whose marker
never arrived never started: with ssh's exit status 255, the host was unreachable (or the
login failed).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

import anyio

from .._core._channel import Channel, ExitStatus, LocalChannel, spawn_local
from .._core._config import (
    DEFAULT_SSH_CONFIG,
    ConnectionParamsLike,
    EffectiveConnectionParams,
    configuration,
    resolve_connection_params,
)
from .._core._host import Host, HostLike
from .._core._output import STDERR, STDOUT, Stream
from .._core._process import ProcessBase
from .._core._util import str_from_cmdline

__all__ = ["SshProcess", "ssh_argv"]

_MARKER = b"__EXECO_RPID__"
_MARKER_LINE = re.compile(rb"__EXECO_RPID__ (\d+)\r?\n")
_PREFIX = "echo __EXECO_RPID__ $$ >&2; "
_PTY_PREFIX = "echo __EXECO_RPID__ $$; "


def ssh_argv(params: EffectiveConnectionParams, address: str, *, pty: bool) -> list[str]:
    """The ssh client argv up to and including the destination (pure).

    BatchMode and ConnectTimeout are always set, so ssh never prompts and never hangs
    connecting.
    """
    argv = [params.ssh, *config_file_options(params), *params.ssh_options]
    argv += ["-tt" if pty else "-T", *login_options(params)]
    argv += ["--", params.rewritten_address(address)]
    return argv


def login_options(params: EffectiveConnectionParams) -> list[str]:
    """The OpenSSH options every connection gets (pure): batch mode, connect timeout, the
    user, key and port of the host, if set, and the key exchange algorithms, if chosen
    (shared by ssh, scp and taktuk's connector)."""
    argv = ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, round(params.connect_timeout))}"]
    if params.user:
        argv += ["-o", f"User={params.user}"]
    if params.keyfile:
        argv += ["-i", params.keyfile]
    if params.port:
        argv += ["-o", f"Port={params.port}"]
    if params.kex_algorithms:
        argv += ["-o", f"KexAlgorithms={','.join(params.kex_algorithms)}"]
    return argv


def config_file_options(params: EffectiveConnectionParams) -> list[str]:
    """``-F file`` when the configured ssh_config is not OpenSSH's default (pure)."""
    if params.ssh_config == DEFAULT_SSH_CONFIG:
        return []
    return ["-F", params.ssh_config or "/dev/null"]


def transport_for(given: str | None) -> str:
    """``ssh`` or ``asyncssh``: ``given``, else ``configuration['remote_tool']`` (read now)."""
    tool = given if given is not None else str(configuration["remote_tool"])
    if tool not in ("ssh", "asyncssh"):
        if given is not None:
            raise ValueError(f"transport must be 'ssh' or 'asyncssh', got {given!r}")
        tool = "ssh"  # e.g. taktuk: a single process still goes through ssh
    return tool


def remote_kill_script(pid: int, grace: float) -> str:
    """Remote shell code: kill the process group of ``pid``, SIGTERM then SIGKILL.

    The group is looked up from the pid (normally the same number: sshd makes the login
    shell a group leader, but a forced command or wrapper may sit in between). The group
    counts as gone once only zombies are left in it. Exits 9 when SIGKILL was needed.
    """
    steps = max(1, int(grace * 10))
    alive = (
        "ps -A -o pgid= -o stat= 2>/dev/null | "
        "awk -v g=$g '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'"
    )
    return (
        f"g=$(ps -o pgid= -p {pid} 2>/dev/null | tr -d ' '); [ -n \"$g\" ] || exit 0; "
        "kill -TERM -- -$g 2>/dev/null || exit 0; i=0; "
        f"while {alive}; do "
        f"if [ $i -ge {steps} ]; then kill -KILL -- -$g 2>/dev/null; exit 9; fi; "
        "sleep 0.1; i=$((i+1)); done; exit 0"
    )


class _SshChannel:
    """A local ssh client process plus what is needed to kill the remote side."""

    def __init__(self, process: SshProcess, local: LocalChannel) -> None:
        self._process = process
        self._local = local
        self.pid = local.pid
        self.stdout = local.stdout
        self.stderr = local.stderr

    async def wait(self) -> ExitStatus:
        return await self._local.wait()

    def has_exited(self) -> bool:
        return self._local.has_exited()

    async def send(self, data: bytes) -> None:
        await self._local.send(data)

    async def close_stdin(self) -> None:
        await self._local.close_stdin()

    def signal_group(self, sig: int) -> None:
        self._local.signal_group(sig)

    async def terminate(self, grace: float) -> bool:
        p = self._process
        forced = False
        if p.remote_pid is None and not self._local.has_exited():
            # The marker may be in flight: killing ssh now could orphan the remote command.
            with anyio.move_on_after(grace):
                while p.remote_pid is None and not p._marker_done and p._marker_event:
                    await p._marker_event.wait()
        if p.remote_pid is not None and not self._local.has_exited():
            killer = _RemoteKiller(p, remote_kill_script(p.remote_pid, grace))
            with anyio.move_on_after(p.params.connect_timeout + grace + 5):
                forced = await killer.run()
            # ssh ends by itself once the remote command is gone.
            with anyio.move_on_after(min(grace, 2.0)):
                await self._local.wait()
        if not self._local.has_exited():
            forced = await self._local.terminate(grace) or forced
        return forced

    async def aclose(self) -> None:
        await self._local.aclose()


class _RemoteKiller:
    def __init__(self, process: SshProcess, script: str) -> None:
        self._process = process
        self._script = script

    async def run(self) -> bool:
        p = self._process
        assert p.host is not None
        argv = [*ssh_argv(p.params, p.host.address, pty=False), self._script]
        channel = await spawn_local(argv, env=None, cwd=None, pty=False, stdin=False)
        try:
            status = await channel.wait()
        finally:
            await channel.aclose()
        return status.exit_code == 9


class SshProcess(ProcessBase):
    """A command run on a remote host through the OpenSSH client.

    Args:
        cmd: the remote command, a shell string (an argv sequence is shell-quoted).
        host: where to run it; its user/keyfile/port win over ``connection_params``.
        connection_params: per-call connection parameters (a ConnectionParams or dict).
        pty: allocate a remote pty (``ssh -tt``); stderr is then merged into stdout by the
            remote terminal. Default: the connection parameters' ``pty``.
        transport: ``"ssh"`` (the OpenSSH client, a local subprocess) or ``"asyncssh"``
            (a session of a pooled in-process connection, see :func:`~execo.ssh_pool`).
            Default: ``configuration["remote_tool"]`` when it names one of them, else ssh.
        **kwargs: see :class:`~execo.ProcessBase` (``timeout``, handlers, flags, ...).

    Attributes:
        remote_pid: pid of the remote shell, which leads the remote process group.
    """

    _kind = "SshProcess"

    def __init__(
        self,
        cmd: str | Sequence[str],
        host: HostLike,
        *,
        connection_params: ConnectionParamsLike = None,
        pty: bool | None = None,
        transport: str | None = None,
        **kwargs: object,
    ) -> None:
        if "shell" in kwargs:
            raise TypeError("SshProcess runs its command through the remote shell: no shell=")
        self._host = Host.of(host)
        self.connection_params = connection_params
        self.params = resolve_connection_params(connection_params, self._host)
        self.transport = transport_for(transport)
        super().__init__(cmd, pty=self.params.pty if pty is None else pty, **kwargs)  # type: ignore[arg-type]
        self.host = self._host

    def _clear_state(self) -> None:
        super()._clear_state()
        self.remote_pid: int | None = None
        self._marker_buf = b""
        self._marker_done = False
        self._marker_event: anyio.Event | None = None

    @property
    def remote_cmd(self) -> str:
        """The remote command line, as the remote shell receives it (before our prefix)."""
        return str_from_cmdline(self.cmd)

    def argv(self) -> list[str]:
        """The full local argv of the ssh client."""
        assert self.host is not None
        prefix = _PTY_PREFIX if self.pty else _PREFIX
        return [*ssh_argv(self.params, self.host.address, pty=self.pty), prefix + self.remote_cmd]

    async def _spawn(self) -> Channel:
        self._marker_event = anyio.Event()
        if self.transport == "asyncssh":
            from ._asyncssh import AsyncsshChannel, channel_pool

            assert self.host is not None
            pool, private = await channel_pool()
            key = pool.target_for(self.params, self.host.address)
            prefix = _PTY_PREFIX if self.pty else _PREFIX
            return AsyncsshChannel(self, pool, private, key, prefix + self.remote_cmd)
        env = None
        if self.env is not None:
            import os

            env = {**os.environ, **self.env}
        local = await spawn_local(self.argv(), env=env, cwd=self.cwd, pty=False, stdin=self.stdin)
        return _SshChannel(self, local)

    def _filter_output(self, stream: Stream, data: bytes) -> bytes:
        if self._marker_done or stream != (STDOUT if self.pty else STDERR):
            return data
        self._marker_buf += data
        buf = self._marker_buf
        if not data:  # end of stream before a full marker line
            self._marker_done = True
            self._signal_marker()
            return buf
        if len(buf) < len(_MARKER) and _MARKER.startswith(buf):
            return b""
        m = _MARKER_LINE.match(buf)
        if m is None:
            if buf.startswith(_MARKER) and b"\n" not in buf and len(buf) < 64:
                return b""  # the rest of the marker line is still coming
            self._marker_done = True
            self._signal_marker()
            return buf
        self.remote_pid = int(m.group(1))
        self._marker_done = True
        self._signal_marker()
        return buf[m.end() :]

    def _signal_marker(self) -> None:
        if self._marker_event is not None:
            self._marker_event.set()

    def _on_exit(self, status: ExitStatus) -> None:
        if self._channel_unreachable():
            return
        if self.remote_pid is None and status.exit_code == 255 and not self.killed:
            last = self.stderr.strip().splitlines()
            self._set_unreachable(last[-1] if last else "ssh exited with 255")

    def _state_fields(self) -> list[str]:
        fields = super()._state_fields()
        if self.remote_pid is not None:
            fields.append(f"remote_pid={self.remote_pid}")
        return fields

    def __repr__(self) -> str:
        return f"<SshProcess {self.name!r} on {self.host} {self.status.value}>"


def quote(s: str) -> str:
    """Shell-quote one word for the remote shell."""
    return shlex.quote(s)
