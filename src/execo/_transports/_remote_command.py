r"""The remote-command protocol every remote transport speaks: the pid marker and the remote kill.

Every remote command is wrapped as ``echo __EXECO_RPID__ $$ >&2; <command>`` (the marker on
stdout with a pty, where stderr is merged): the remote shell runs the command, and sshd (or
taktuk) makes that shell the leader of a process group of its own, so the reported pid names
the whole remote process tree. The marker line is stripped from the output before anyone sees
it. Killing runs :func:`kill_script` on the remote host (through whatever the transport can
reach it with: a second ssh connection, a session of a pooled connection): the signal asked
for to the group, then SIGKILL after the grace period, until only zombies are left.

A command whose marker never arrived never started: the transports use that to tell an
unreachable host from a command that failed. :class:`RemoteCommand` holds one command's side
of all this, so that OpenSSH, asyncssh and taktuk share it.

**The watchdog.** Unless the command is detached, the wrapper also starts a watchdog: a
background subshell of the remote shell (so in the command's process group), its stdio on
``/dev/null`` (it holds no channel open). Every ``period`` seconds it checks that the process
carrying the session is still there (the remote shell's parent: sshd's session process, or
the taktuk engine), that the remote shell itself is, and, when a heartbeat file is given,
that its content still changes (a keeper refreshes it through the connection: a link cut
silently stops the beats). A zombie counts as gone, and so does a carrier that was already
gone when the shell started (its parent is then init). When a check fails — the connection
ended, whatever the reason: the controller died, the ssh client was killed, the network
dropped; or the shell was killed outright and left its children behind — it sends SIGTERM
to the shell's process group, then SIGKILL ``grace`` seconds later. It needs only POSIX sh
builtins and ``sleep``; it works with sshds that ignore the SSH signal request and over
taktuk. The command's own exit (``exit`` included) stops it through an ``EXIT`` trap; a
command that ``exec``\ s has no trap left, so the watchdog ends what is left of its group when
the exec'd program ends.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import signal as _signal
from collections.abc import Awaitable, Callable
from typing import Final, cast

import anyio

from .._core._channel import ByteSource, ChannelInfo, PushSource

__all__ = [
    "MARKER",
    "RemoteCommand",
    "Watchdog",
    "heartbeat_path",
    "keeper_command",
    "registry_path",
    "kill_script",
    "parse_marker",
    "signal_script",
    "wrap",
]

MARKER = b"__EXECO_RPID__"
_MARKER_LINE = re.compile(rb"__EXECO_RPID__ (\d+)\r?\n")
_TAIL = 8192  # bytes of stderr kept to explain a failure to connect


@dataclasses.dataclass(frozen=True, slots=True)
class Watchdog:
    """How the remote watchdog of a command watches its connection.

    Attributes:
        period: seconds between two checks.
        grace: seconds between its SIGTERM and its SIGKILL.
        heartbeat: the name of a file in the remote ``$TMPDIR`` (``/tmp``) whose content a
            keeper changes while its connection lives (None: only the end of the session is
            watched). The watchdog enforces it only once it has seen it: a keeper that never
            started (a server that refuses a second session) disarms nothing.
        stale: seconds without a change of the heartbeat after which the connection is
            taken as cut (None: no heartbeat is to be kept, silent cuts are not watched).
    """

    period: float = 1.0
    grace: float = 2.0
    heartbeat: str | None = None
    stale: float | None = 25.0

    def script(self, on_fire: str = "") -> str:
        """The watchdog's shell code (to run in the background of the remote shell);
        ``on_fire`` runs when it fires, before it ends its own group."""
        period = _number(self.period)
        check = ""
        if self.heartbeat is not None and self.stale is not None:
            ticks = max(1, math.ceil(self.stale / self.period))
            # Armed once a beat was seen ($__execo_l); then a file that stops changing, or
            # goes, counts the checks towards the end.
            check = (
                f"__execo_c=; read -r __execo_c < {heartbeat_path(self.heartbeat)} 2>/dev/null; "
                'if [ -n "$__execo_l" ] && { [ -z "$__execo_c" ] || '
                '[ "$__execo_c" = "$__execo_l" ]; }; then __execo_n=$((__execo_n+1)); '
                f"[ $__execo_n -ge {ticks} ] && break; "
                'elif [ -n "$__execo_c" ]; then __execo_n=0; __execo_l=$__execo_c; fi; '
            )
        # The carrier (the remote shell's parent) and the remote shell itself must both be
        # there, and not zombies: a shell killed outright (no EXIT trap ran) leaves its
        # children behind, and a carrier that ended before the shell read $PPID left it
        # with init for a parent (1). Under /proc the state letter tells a zombie; without
        # /proc, kill -0 (or ps, for another user's process) tells a live one. The group
        # ended is the shell's, looked up once (normally the shell itself: sshd and taktuk
        # make it a group leader, but a forced command or a wrapper may sit in between).
        # The sleep runs in the background, so that a TERM (our own EXIT trap) ends it with
        # the watchdog.
        alive = (
            "__execo_a() { if [ -d /proc/self ]; then "
            "{ read -r __execo_x < /proc/$1/stat; } 2>/dev/null || return 1; "
            '__execo_x=${__execo_x##*") "}; case $__execo_x in [ZX]*) return 1;; esac; '
            "return 0; fi; kill -0 $1 2>/dev/null || ps -p $1 >/dev/null 2>&1; }; "
        )
        group = (
            "__execo_g=$$; { read -r __execo_x < /proc/$$/stat; } 2>/dev/null && "
            '{ __execo_x=${__execo_x##*") "}; set -- $__execo_x; '
            '[ -n "$3" ] && [ "$3" -gt 1 ] && __execo_g=$3; }; '
        )
        return (
            "trap '' HUP INT; trap 'kill $__execo_s $! 2>/dev/null; exit 0' TERM; "
            f"{alive}{group}__execo_l=; __execo_n=0; __execo_s=; "
            '[ "$__execo_p" = 1 ] || while __execo_a $__execo_p && __execo_a $$; do '
            f"{check}sleep {period} & __execo_s=$!; wait $__execo_s; done; "
            f"trap '' TERM; {on_fire}kill -TERM -$__execo_g 2>/dev/null; "
            f"sleep {_number(self.grace)}; kill -KILL -$__execo_g 2>/dev/null"
        )


DEFAULT_WATCHDOG: Final = Watchdog()


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.3f}".rstrip("0")


def heartbeat_path(name: str) -> str:
    """The remote path of the heartbeat file ``name``, as a double-quoted shell word."""
    if not name.replace("-", "").replace(".", "").isalnum():
        raise ValueError(f"a heartbeat name is letters, digits, '.' and '-': {name!r}")
    return f'"${{TMPDIR:-/tmp}}/{name}"'


def registry_path(name: str) -> str:
    """The remote path of the registry of the keeper ``name`` (a double-quoted shell word):
    one line per command started on its connection, the first line of its ``/proc/PID/stat``
    (its pid, and its start time, which tells it from a later process with the same pid)."""
    return heartbeat_path(name + ".reg")


def registration(name: str) -> str:
    """Shell code that registers the current shell with the keeper ``name``: true when it
    did so while the keeper lives. The keeper removes its heartbeat file before it ends the
    registered commands, and the check comes after the line is written: a command told it
    is registered is in the registry when the keeper reads it. A command that starts while
    its connection is ending (the keeper has swept, or is gone) is told no, and starts a
    watchdog of its own."""
    live = f"[ -e {heartbeat_path(name)} ]"
    return (
        f"{{ {live} && read -r __execo_r < /proc/$$/stat && "
        f'echo "$__execo_r" >> {registry_path(name)} && {live}; }} 2>/dev/null'
    )


def _kill_registered(name: str) -> str:
    """Shell code defining ``__execo_k SIGNAL``: the signal to the group of every registered
    command still alive (same pid *and* start time); returns 0 if it signalled one."""
    return (
        "__execo_k() { __execo_sg=$1; __execo_hit=1; "
        f"[ -r {registry_path(name)} ] || return 1; "
        "while IFS= read -r __execo_e; do set -- $__execo_e; __execo_id=$1; __execo_st=${22}; "
        "__execo_now=; read -r __execo_now < /proc/$__execo_id/stat 2>/dev/null || continue; "
        "set -- $__execo_now; "
        '[ "${22}" = "$__execo_st" ] && kill -$__execo_sg -$__execo_id 2>/dev/null && '
        "__execo_hit=0; "
        f"done < {registry_path(name)}; return $__execo_hit; }}; "
    )


def keeper_command(name: str, watchdog: Watchdog) -> str:
    """The remote side of a heartbeat keeper, one per connection: each line it reads changes
    the file ``name``, and its registry lists the commands of the connection (they register
    themselves, see :func:`wrap`). Its connection ending — the input ends, its parent is
    gone, or (its watchdog) the beats stop — ends every registered command still running
    (SIGTERM, then SIGKILL after the grace period) and the keeper. It prints ``KEEPING`` once
    it keeps; from then on, the commands of its connection need no watchdog of their own."""
    path, grace = heartbeat_path(name), _number(watchdog.grace)
    # The heartbeat goes first: from then on no command takes itself as registered (see
    # registration), so the sweep that follows sees every command that does.
    end_all = f"rm -f {path}; __execo_k TERM && {{ sleep {grace}; __execo_k KILL; }}; "
    cleanup = f"rm -f {path} {registry_path(name)}"
    start = f"echo 0 > {path}; : >> {registry_path(name)}; echo KEEPING; i=0; "
    generic = wrap(
        f"trap '{end_all}{cleanup}; kill $__execo_w 2>/dev/null' EXIT; {start}"
        f"while IFS= read -r x; do i=$((i+1)); echo $i > {path}; done",
        pty=False,
        watchdog=dataclasses.replace(watchdog, heartbeat=name),
        prelude=_kill_registered(name),
        on_fire=end_all,
    )
    if watchdog.stale is None:
        return generic
    # Under bash, ``read -t`` watches both ends at once, with no process and no fork per
    # period: the input ends (the connection ended) or no beat came for ``stale`` seconds
    # (it was cut silently). 2,000 idle keepers then cost their hosts nothing.
    stale = _number(watchdog.stale)
    lean = (
        f"{_kill_registered(name)}trap '{end_all}{cleanup}' EXIT; trap 'exit 143' TERM; "
        f"trap 'exit 129' HUP; {start}"
        f"while IFS= read -r -t {stale} x; do i=$((i+1)); echo $i > {path}; done"
    )
    head = wrap("", pty=False)  # the pid marker
    return (
        f'{head}if [ -n "${{BASH_VERSION-}}" ]; then {lean}; else {generic.removeprefix(head)}; fi'
    )


@functools.lru_cache(maxsize=256)  # an action's processes share one string
def wrap(
    command: str,
    *,
    pty: bool,
    watchdog: Watchdog | None = None,
    registry: str | None = None,
    prelude: str = "",
    on_fire: str = "",
) -> str:
    """``command`` behind the pid marker (on stderr, or on stdout with a pty), and the
    watchdog that ends its process group with its connection (unless None: detached).

    With ``registry`` (the name of the keeper of the command's connection, which is known
    to keep), the command registers itself with that keeper instead of starting a watchdog
    of its own: shell builtins only, no process, and the shell can still ``exec`` the last
    command. Where ``/proc`` cannot be read, or the keeper is ending (see
    :func:`registration`), it starts its own watchdog after all.
    """
    echo = f"echo {MARKER.decode()} $$"
    head = f"{echo}; " if pty else f"{echo} >&2; "
    if watchdog is None:
        return head + command
    own = (
        f"__execo_p=$PPID; ({watchdog.script(on_fire)}) </dev/null >/dev/null 2>&1 & "
        "__execo_w=$!; trap 'kill $__execo_w 2>/dev/null' EXIT; "
    )
    if registry is not None:
        return f"{head}{prelude}if {registration(registry)}; then :; else {own}fi; {command}"
    return head + prelude + own + command


def parse_marker(line: bytes) -> int | None:
    """The pid of a whole marker line (without its newline), or None if it is not one."""
    head = MARKER + b" "
    if line.startswith(head) and line[len(head) :].strip().isdigit():
        return int(line[len(head) :].strip())
    return None


# ``kill -N -PGID``, never ``kill -s N -- -PGID``: dash (Debian's /bin/sh, which taktuk and
# some login shells use) takes neither ``-s N`` with a negative pid nor ``--``.


def _group_of(pid: int) -> str:
    # The shell may be gone while its group lives on (a background child holding the
    # session's output open): its pid still names the group (no new process takes a pid
    # that names a live group).
    return f"g=$(ps -o pgid= -p {pid} 2>/dev/null | tr -d ' '); [ -n \"$g\" ] || g={pid}; "


def kill_script(pid: int, grace: float, sig: int = _signal.SIGTERM) -> str:
    """Remote shell code: ``sig`` to the process group of ``pid``, SIGKILL after ``grace``.

    The group is looked up from the pid (normally the same number: sshd makes the login
    shell a group leader, but a forced command or wrapper may sit in between); once the
    shell is gone, the pid itself is taken as the group. The group
    counts as gone once only zombies are left in it. Exits 9 when SIGKILL was needed, 0 when
    the group is gone (or was never there).
    """
    steps = max(1, int(grace * 10))
    alive = (
        "ps -A -o pgid= -o stat= 2>/dev/null | "
        "awk -v g=$g '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'"
    )
    return (
        _group_of(pid) + f"kill -{int(sig)} -$g 2>/dev/null || exit 0; i=0; "
        f"while {alive}; do "
        f"if [ $i -ge {steps} ]; then kill -KILL -$g 2>/dev/null; exit 9; fi; "
        "sleep 0.1; i=$((i+1)); done; exit 0"
    )


def signal_script(pid: int, sig: int) -> str:
    """Remote shell code: ``sig`` to the process group of ``pid``, nothing more."""
    return _group_of(pid) + f"kill -{int(sig)} -$g 2>/dev/null; exit 0"


RunScript = Callable[[str], Awaitable[int | None]]
"""How a transport runs a shell script on the command's host: its exit status (None if it
gave none); raises OSError when the host cannot be reached."""


class RemoteCommand:
    """One remote command's side of the protocol: wrapper, marker, stderr tail, kill.

    Create it on the caller's event loop (it holds an event); the transport feeds it the
    stream that carries the marker through :meth:`source`, or, when it parses records
    itself (taktuk), through :meth:`found_pid` / :meth:`no_marker`.
    """

    def __init__(
        self,
        command: str,
        *,
        pty: bool,
        watchdog: Watchdog | None = None,
        info: ChannelInfo | None = None,
    ) -> None:
        self.pty = pty
        self.wrapped = wrap(command, pty=pty, watchdog=watchdog)
        self.info = info if info is not None else ChannelInfo()
        self._marker_done = False
        self._marker_event: anyio.Event | None = None  # made by the first waiter
        self._pending = b""
        self._tail = bytearray()

    # ------------------------------------------------------------- marker

    @property
    def marker_done(self) -> bool:
        """The marker was seen, or its stream showed it will never come."""
        return self._marker_done

    def found_pid(self, pid: int) -> None:
        self.info.remote_pid = pid
        self.no_marker()

    def no_marker(self) -> None:
        if not self._marker_done:
            self._marker_done = True
            if self._marker_event is not None:
                self._marker_event.set()

    async def wait_marker(self) -> int | None:
        """Wait until the marker arrived or will never arrive; the remote pid or None."""
        if not self._marker_done:
            if self._marker_event is None:
                self._marker_event = anyio.Event()
            await self._marker_event.wait()
        return self.info.remote_pid

    def strip(self, data: bytes) -> bytes:
        """Feed the marker stream's next bytes (``b""``: its end); what is not the marker."""
        if self._marker_done:
            return data
        buf = self._pending + data
        if not data:  # end of stream before a full marker line
            self._pending = b""
            self.no_marker()
            return buf
        if len(buf) < len(MARKER) and MARKER.startswith(buf):
            self._pending = buf
            return b""
        m = _MARKER_LINE.match(buf)
        if m is None:
            if buf.startswith(MARKER) and b"\n" not in buf and len(buf) < 64:
                self._pending = buf
                return b""  # the rest of the marker line is still coming
            self._pending = b""
            self.no_marker()
            return buf
        self._pending = b""
        self.found_pid(int(m.group(1)))
        return buf[m.end() :]

    def source(
        self, raw: ByteSource | None, *, marker: bool, tail: bool = False
    ) -> ByteSource | None:
        """``raw`` with the marker stripped (``marker``) and its end kept (``tail``)."""
        if raw is None:
            if marker:
                self.no_marker()
            return None
        if not (marker or tail):
            return raw
        return _Filtered(self, raw, marker=marker, tail=tail)

    def keep_tail(self, data: bytes) -> None:
        self._tail += data
        del self._tail[:-_TAIL]

    def last_line(self) -> str | None:
        """The last non-empty line of the kept stderr (a local client's error, say)."""
        lines = self._tail.decode(errors="replace").strip().splitlines()
        return lines[-1].strip() if lines else None

    @property
    def tail(self) -> str:
        return self._tail.decode(errors="replace")

    # --------------------------------------------------------------- kill

    async def kill(
        self,
        run: RunScript,
        *,
        grace: float,
        sig: int,
        bound: float,
        exited: Callable[[], bool],
    ) -> bool:
        """Kill the remote process group with ``sig``, SIGKILL after ``grace``.

        If the marker is not there yet (still connecting), wait for it at most ``grace``:
        the command may have started with its marker in flight. ``run`` executes the kill
        script on the host, within ``bound`` seconds. Returns whether SIGKILL was needed;
        a kill that could not be delivered is recorded in ``info.kill_error``.
        """
        if self.info.remote_pid is None and not exited():
            with anyio.move_on_after(grace):
                await self.wait_marker()
        pid = self.info.remote_pid
        if pid is None or exited():
            return False
        return await self._run(run, kill_script(pid, grace, sig), bound, "kill") == 9

    async def signal(self, run: RunScript, *, sig: int, bound: float) -> None:
        """Deliver ``sig`` to the remote process group (once the pid is known)."""
        pid = self.info.remote_pid
        if pid is None:
            with anyio.move_on_after(bound):
                pid = await self.wait_marker()
        if pid is None:
            self.info.kill_error = f"signal {sig} not delivered: the remote pid is unknown"
            return
        await self._run(run, signal_script(pid, sig), bound, f"signal {sig}")

    async def _run(self, run: RunScript, script: str, bound: float, what: str) -> int | None:
        status: int | None = None
        with anyio.move_on_after(bound) as scope:
            try:
                status = await run(script)
            except OSError as e:
                self.info.kill_error = f"remote {what} failed: {e.strerror or e}"
                return None
        if scope.cancelled_caught:
            self.info.kill_error = f"remote {what} timed out after {bound:.0f} s"
        elif status not in (0, 9):
            self.info.kill_error = f"remote {what} failed: the kill script exited {status}"
        return status


class _Filtered:
    """A source with the marker stripped and/or its tail kept."""

    __slots__ = ("_command", "_consumer", "_marker", "_raw", "_tail")

    def __init__(
        self, command: RemoteCommand, raw: ByteSource, *, marker: bool, tail: bool
    ) -> None:
        self._command = command
        self._raw = raw
        self._marker = marker
        self._tail = tail
        self._consumer: Callable[[bytes], None] | None = None

    async def read(self) -> bytes:
        while True:
            try:
                data = await self._raw.read()
            except OSError:
                data = b""
            out = self._filter(data)
            if out or not data:
                return out

    def _filter(self, data: bytes) -> bytes:
        out = self._command.strip(data) if self._marker else data
        if self._tail and out:
            self._command.keep_tail(out)
        return out

    @property
    def can_push(self) -> bool:
        return bool(getattr(self._raw, "can_push", False))

    def subscribe(self, consumer: Callable[[bytes], None]) -> None:
        self._consumer = consumer
        cast("PushSource", self._raw).subscribe(self._push)

    def _push(self, data: bytes) -> None:
        out = self._filter(data)
        if (out or not data) and self._consumer is not None:
            self._consumer(out)

    def unsubscribe(self) -> None:
        self._consumer = None
        cast("PushSource", self._raw).unsubscribe()
