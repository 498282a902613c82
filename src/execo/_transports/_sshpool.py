"""Pooled in-process SSH connections (asyncssh), shared by every command of a scope.

``async with ssh_pool() as pool:`` opens a pool; every asyncssh-transport process and
transfer started inside the block (in any task below it) takes its connection from it:
one connection per (host, port, user, key, ...) carries up to ``max_sessions_per_connection``
sessions at once (sshd's ``MaxSessions``), more connections are opened when they are full,
and everything is closed when the block ends. A process started outside any pool gets a
pool of its own for its lifetime (an action shares one among its processes).

Limits follow what sshd enforces: at most ``max_starting_connections`` handshakes in flight
per target sshd (its ``MaxStartups``, 10 by default: beyond that sshd drops connections at
random), sessions per connection as above, and an optional overall cap on handshakes and on
running sessions.

Hosts are resolved through the OpenSSH client configuration (``ssh_config``, by default
``~/.ssh/config``) by asyncssh itself; ProxyJump chains are resolved by ``_sshtarget``, hop
by hop, so that each hop is a pooled connection of its own (a hundred nodes behind one
gateway share one connection to it) and gets the same host-key policy as the target.

Host keys (``host_key_policy``): ``strict`` trusts only the known_hosts files (OpenSSH's and
our store), ``accept-new`` also accepts a host that has no key on record and writes its key
into our store (``known_hosts_store``, by default ``$XDG_STATE_HOME/execo/known_hosts``; the
user's ``~/.ssh/known_hosts`` is never written), and still refuses a changed key;
``insecure`` checks nothing. Nothing ever prompts: no password or keyboard-interactive
authentication, and encrypted keys without a passphrase are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import heapq
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import asyncssh

from .._core._config import EffectiveConnectionParams
from .._core._errors import ExecoUsageError
from .._core._local import raise_nofile_limit
from .._core._secret import Secret
from ._bridge import Bridge, open_bridge
from ._corked import CORKED
from ._remote_command import Watchdog, keeper_command
from ._sshtarget import (
    CIPHERS,
    ConnectFailed,
    HostKeyPolicy,
    KnownHosts,
    TargetKey,
    describe_connect_error,
    local_username,
    target_key,
)

__all__ = [
    "Limits",
    "PoolStatistics",
    "SshPool",
    "ssh_pool",
]

T = TypeVar("T")

_current_pool: contextvars.ContextVar[SshPool | None] = contextvars.ContextVar(
    "execo_ssh_pool", default=None
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Connection limits of an :class:`SshPool`, modelled on what sshd enforces.

    Attributes:
        max_starting_connections: handshakes in flight per target sshd (address, port):
            sshd's ``MaxStartups`` (default 10:30:100) drops connections beyond 10.
        max_sessions_per_connection: sessions (commands, transfers) at once on one
            connection: sshd's ``MaxSessions`` (default 10). A connection the server
            refuses a session on is taken as full.
        max_starting_total: handshakes in flight over all targets (None: no cap). The
            default, 256, keeps each handshake short when thousands start at once: the
            others wait their turn before their connect timeout starts, rather than all
            sharing the CPU for longer than it (2,000 at once on 2 cores timed some out).
        fanout: sessions running at once over the whole pool (None: no cap).
    """

    max_starting_connections: int = 10
    max_sessions_per_connection: int = 10
    max_starting_total: int | None = 256
    fanout: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_starting_connections", "max_sessions_per_connection"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name in ("max_starting_total", "fanout"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive int or None, got {value!r}")


@dataclasses.dataclass(frozen=True, slots=True)
class PoolStatistics:
    """Counters of an :class:`SshPool` (a snapshot)."""

    connections_opened: int
    connections_open: int
    connect_failures: int
    connects_dropped: int
    sessions_opened: int
    sessions_open: int
    peak_handshakes: int
    peak_handshakes_per_target: int


class _Client(asyncssh.SSHClient):
    def __init__(self, policy: HostKeyPolicy, known: KnownHosts | None) -> None:
        self._policy = policy
        self._known = known
        self.conn: _Conn | None = None

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        # Called only for a key not among the trusted ones of this host.
        if self._policy != HostKeyPolicy.ACCEPT_NEW or self._known is None:
            return False
        p = None if port == 22 else port
        trusted = self._known.lookup(host, addr, p, key)
        if trusted is None:  # a new host (or a new key recorded since this handshake began)
            self._known.record(host, p, key)
            return True
        return trusted  # False: a changed key, refused

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.conn.lost()


class _Conn:
    """One pooled connection and its session count."""

    def __init__(
        self,
        target: _Target,
        conn: asyncssh.SSHClientConnection,
        cap: int,
        on_lost: Callable[[], None],
    ) -> None:
        self.target = target
        self.conn = conn
        self.sessions = 0
        self.cap = cap
        self.closed = False
        self._on_lost = on_lost
        # The heartbeat keeper on this connection (see _keep): its file's name once it beats;
        # keeping: it said KEEPING, and the commands register with it (no watchdog each).
        self.heartbeat: str | None = None
        self.keeping = False
        self.keeper: asyncssh.SSHClientChannel[bytes] | None = None
        # The keeper starts once a command of this connection has run for KEEPER_AFTER
        # seconds (see SshPool.command_started): short commands never need one. running:
        # the sessions whose command has started, with when, oldest first; checked: the
        # pool is due to look at them (the connection is in its heap of checks).
        self.keepalive: float | None = None
        self.checked = False
        self.running: dict[object, float] = {}
        self.beat_every = 0.0
        self.next_beat = 0.0

    def lost(self) -> None:
        if self.closed and self not in self.target.conns:
            return
        self.closed = True
        if self in self.target.conns:
            self.target.conns.remove(self)
        self.target.wake()
        self._on_lost()  # a socket was freed: those starved of descriptors may go


class _KeeperSession(asyncssh.SSHClientSession[bytes]):
    """The keeper's side here: it says KEEPING once its registry is there."""

    def __init__(self, conn: _Conn) -> None:
        self._conn = conn
        self._seen = b""

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if not self._conn.keeping and datatype != asyncssh.EXTENDED_DATA_STDERR:
            self._seen = (self._seen + data)[-64:]
            if b"KEEPING\n" in self._seen:
                self._conn.keeping = True

    def connection_lost(self, exc: Exception | None) -> None:
        self._conn.keeping = False


class _Target:
    def __init__(self, key: TargetKey) -> None:
        self.key = key
        self.conns: list[_Conn] = []
        self.connecting: set[asyncio.Future[_Conn]] = set()
        self.waiters = 0
        self.error: BaseException | None = None
        self.failures = 0
        self.changed = asyncio.Event()

    def wake(self) -> None:
        """A connection opened or failed, or a slot was freed: the waiters look again."""
        self.changed.set()
        self.changed = asyncio.Event()


class _Counter:
    """A semaphore that also remembers its peak."""

    def __init__(self, limit: int | None) -> None:
        self._sem = asyncio.Semaphore(limit) if limit is not None else None
        self.current = 0
        self.peak = 0

    async def __aenter__(self) -> None:
        if self._sem is not None:
            await self._sem.acquire()
        self.current += 1
        self.peak = max(self.peak, self.current)

    async def __aexit__(self, *exc: object) -> None:
        self.current -= 1
        if self._sem is not None:
            self._sem.release()


class SshPool:
    """A scope that owns asyncssh connections (see the module documentation).

    Args:
        limits: connection limits (:class:`Limits`).

    Use ``async with ssh_pool() as pool:``; inside, :meth:`current` returns it.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._bridge: Bridge | None = None
        self._token: contextvars.Token[SshPool | None] | None = None
        self._targets: dict[TargetKey, _Target] = {}
        self._keys_cache: dict[tuple[EffectiveConnectionParams, str], TargetKey] = {}
        self._base_options: dict[tuple[object, ...], asyncssh.SSHClientConnectionOptions] = {}
        self._known: dict[str, KnownHosts] = {}
        self._keys: dict[tuple[str, Secret | None], asyncssh.SSHKey] = {}
        self._handshakes: dict[tuple[str, int | None], _Counter] = {}
        self._all_handshakes: _Counter | None = None
        self._fanout: _Counter | None = None
        self._id = secrets.token_hex(4)  # names this pool's heartbeat files
        self._keepers = 0
        self._fd_seen = 0  # descriptors found at the last listing of /proc/self/fd
        self._fd_since = 0  # connects allowed since that listing
        self._beater: asyncio.Future[None] | None = None
        # When to look at which connection's running commands (see command_started): one
        # timer for the pool, not one per connection and command.
        self._checks: list[tuple[float, int, _Conn]] = []
        self._checks_made = 0
        self._check_timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        self._nofile = 0  # the soft limit on open files, read when the pool opens
        self._connecting = 0  # handshakes in flight over every target
        self._starved: set[_Target] = set()  # waiting for a file descriptor
        self._stats = {
            "opened": 0,
            "failures": 0,
            "dropped": 0,
            "sessions_opened": 0,
            "sessions_open": 0,
        }
        self._closing = False

    @staticmethod
    def current() -> SshPool | None:
        """The pool of the enclosing ``async with ssh_pool()`` block, if any."""
        return _current_pool.get()

    @property
    def bridge(self) -> Bridge:
        if self._bridge is None:
            raise ExecoUsageError("the SSH pool is not open: use `async with ssh_pool():`")
        return self._bridge

    async def __aenter__(self) -> Self:
        self.open()
        self._token = _current_pool.set(self)
        return self

    def open(self) -> None:
        """Start the asyncio side (without making this the current pool)."""
        if self._bridge is not None:
            raise ExecoUsageError("this SSH pool is already open")
        self._bridge = open_bridge()
        self._closing = False
        self._nofile = raise_nofile_limit()
        _settle_local_username()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            try:
                _current_pool.reset(self._token)
            except ValueError:  # exited in another context than entered: leave it be
                pass
            self._token = None
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection, then the asyncio side (the loop thread under trio)."""
        bridge = self._bridge
        if bridge is None:
            return
        import anyio

        with anyio.CancelScope(shield=True):
            await bridge.run(self._close_all)
            await bridge.aclose()
        self._bridge = None
        # All of it belongs to that asyncio loop or that run: a reopened pool starts afresh
        # (statistics excepted).
        self._targets.clear()
        self._keys_cache.clear()
        self._known.clear()
        self._base_options.clear()
        self._handshakes.clear()
        self._all_handshakes = self._fanout = None

    async def _close_all(self) -> None:
        self._closing = True
        for keeper in [*self._tasks, *([self._beater] if self._beater else [])]:
            keeper.cancel()
        self._tasks.clear()
        self._beater = None
        if self._check_timer is not None:
            self._check_timer.cancel()
            self._check_timer = None
        self._checks.clear()
        conns = [c for t in self._targets.values() for c in t.conns]
        for t in self._targets.values():
            for task in list(t.connecting):
                task.cancel()
            t.wake()
        for c in conns:
            c.conn.close()
        for c in conns:
            try:
                await asyncio.wait_for(c.conn.wait_closed(), 5)
            except (TimeoutError, OSError, asyncssh.Error):
                pass

    def statistics(self) -> PoolStatistics:
        """Connection and session counters (peaks included)."""
        per_target = max((c.peak for c in self._handshakes.values()), default=0)
        total = self._all_handshakes.peak if self._all_handshakes is not None else per_target
        return PoolStatistics(
            connections_opened=self._stats["opened"],
            connections_open=sum(len(t.conns) for t in self._targets.values()),
            connect_failures=self._stats["failures"],
            connects_dropped=self._stats["dropped"],
            sessions_opened=self._stats["sessions_opened"],
            sessions_open=self._stats["sessions_open"],
            peak_handshakes=total,
            peak_handshakes_per_target=per_target,
        )

    # ------------------------------------------------------------ host side

    def target_for(self, params: EffectiveConnectionParams, address: str) -> TargetKey:
        """The pool key of the connection to ``address`` with ``params`` (cached: the ssh
        config is read once per host and parameters, not once per command)."""
        cache_key = (params, address)
        try:
            key = self._keys_cache.get(cache_key)
        except TypeError:  # an unhashable field (a callable object, say): no cache
            return target_key(params, address)
        if key is None:
            key = self._keys_cache[cache_key] = target_key(params, address)
        return key

    # --------------------------------------------------------- asyncio side

    async def acquire(self, key: TargetKey, session: bool = True) -> _Conn:
        """A connection to ``key``, with a session slot taken when ``session`` (give it back
        with :meth:`release`).

        New connections are started while the waiters outnumber the free slots of the
        connections being opened (the per-target handshake limit queues them); when every
        attempt has failed and none is left in flight, the waiters fail with the last error.
        A waiter that is cancelled leaves; when the last one leaves, the attempts in flight
        are cancelled too.
        """
        target = self._targets.get(key)
        if target is None:
            target = self._targets[key] = _Target(key)
        target.waiters += 1
        seen = target.failures
        try:
            while True:
                if self._closing:
                    raise ConnectFailed("the SSH pool is closing")
                for c in target.conns:
                    if not c.closed and (not session or c.sessions < c.cap):
                        if session:
                            self._take(c)
                        return c
                if target.failures > seen and not target.connecting:
                    assert target.error is not None
                    raise ConnectFailed(describe_connect_error(target.error))
                slots = self.limits.max_sessions_per_connection if session else target.waiters
                if len(target.connecting) * slots < target.waiters and self._may_connect(target):
                    task = asyncio.ensure_future(self._open(target))
                    target.connecting.add(task)
                    task.add_done_callback(functools.partial(self._opened, target))
                changed = target.changed
                await changed.wait()
        finally:
            target.waiters -= 1
            if not target.waiters:
                for pending in list(target.connecting):
                    pending.cancel()

    def _opened(self, target: _Target, task: asyncio.Future[_Conn]) -> None:
        target.connecting.discard(task)
        if not task.cancelled() and task.exception() is not None:
            target.error = task.exception()
            target.failures += 1
        target.wake()

    def _take(self, c: _Conn) -> None:
        c.sessions += 1
        self._stats["sessions_opened"] += 1
        self._stats["sessions_open"] += 1

    def command_started(self, c: _Conn, session: object) -> None:
        """The command of ``session`` (a session of ``c``) has started: the remote shell
        spoke. Measured from here, not from the session's request, so that a burst of short
        commands on a loaded server (a second between request and end) starts no keepers."""
        if c.keepalive is None or c.closed:
            return
        now = asyncio.get_running_loop().time()
        c.running[session] = now
        if not c.checked:
            self._check_at(now + KEEPER_AFTER, c)
            self._arm_checks()

    def command_ended(self, c: _Conn, session: object) -> None:
        c.running.pop(session, None)

    def _check_at(self, when: float, c: _Conn) -> None:
        c.checked = True
        self._checks_made += 1
        heapq.heappush(self._checks, (when, self._checks_made, c))

    def _arm_checks(self) -> None:
        """The timer at the first check due (moved earlier if need be)."""
        if not self._checks:
            return
        first, timer = self._checks[0][0], self._check_timer
        if timer is None or first < timer.when():
            if timer is not None:
                timer.cancel()
            self._check_timer = asyncio.get_running_loop().call_at(first, self._run_checks)

    def _run_checks(self) -> None:
        """Look at every connection whose check is due, then arm the timer for the next."""
        self._check_timer = None
        checks = self._checks
        now = asyncio.get_running_loop().time()
        while checks and checks[0][0] <= now + 0.001:
            _, _, c = heapq.heappop(checks)
            c.checked = False
            self._keeper_due(c, now)  # may put c back, for later
        self._arm_checks()

    def _keeper_due(self, c: _Conn, now: float) -> None:
        """The oldest running command of ``c`` started KEEPER_AFTER seconds ago, when this
        check was made: if it (or one started since) has run that long, start the
        connection's keeper; else look again once the oldest one still running has, if any."""
        keepalive = c.keepalive
        if c.closed or self._closing or keepalive is None or not c.running:
            return
        oldest = next(iter(c.running.values()))
        if now - oldest < KEEPER_AFTER * 0.99:
            self._check_at(oldest + KEEPER_AFTER, c)
            return
        c.keepalive = None  # started once
        c.running.clear()
        keeping = asyncio.ensure_future(self._keep(c, keepalive))
        self._tasks.add(keeping)
        keeping.add_done_callback(self._tasks.discard)

    def release(self, c: _Conn) -> None:
        c.sessions -= 1
        self._stats["sessions_open"] -= 1
        if c.target.waiters:
            c.target.wake()
        elif c.sessions == 0 and self._starved:
            self._wake_starved()  # an idle connection another target may take over

    # ------------------------------------------------- file descriptor budget

    def _fd_room(self) -> bool:
        """Whether one more socket fits under the open-file limit, keeping a reserve for what
        else the process opens (pipes, files) and for the handshakes in flight."""
        # Listing /proc/self/fd costs about 1 ms at 3,000 descriptors: it is done when the
        # estimate (the last count, plus every connect since) passes half the limit, and
        # every 64 connects.
        estimate = self._fd_seen + self._fd_since + self._connecting + _FD_RESERVE
        if estimate < self._nofile // 2 and self._fd_since < 64:
            self._fd_since += 1
            return True
        try:
            used = len(os.listdir("/proc/self/fd"))
        except OSError:
            return True
        self._fd_seen, self._fd_since = used, 0
        if used + self._connecting + _FD_RESERVE < self._nofile:
            self._fd_since = 1
            return True
        return False

    def _open_total(self) -> int:
        return self._connecting + sum(len(t.conns) for t in self._targets.values())

    def _may_connect(self, target: _Target) -> bool:
        """Whether to open a connection for ``target`` now. Out of descriptors, a target
        that has connections shares them (its waiters queue for a session); one that has
        none gets an idle connection of another target closed for it, or waits for one."""
        if self._fd_room():
            return True
        if target.conns or target.connecting:
            return False
        if self._evict_idle(target):
            return False  # woken once that socket is freed
        if not self._open_total():
            return True  # nothing of ours to wait for: try (an error will say why)
        self._starved.add(target)
        return False

    def _evict_idle(self, needing: _Target) -> bool:
        """Close an idle connection of another target to make room; whether one was."""
        for t in self._targets.values():
            if t is needing or t.waiters:
                continue
            for c in t.conns:
                if c.sessions == 0 and not c.closed:
                    c.closed = True
                    t.conns.remove(c)
                    c.conn.close()  # its socket is freed once closed: lost() wakes us
                    self._starved.add(needing)
                    return True
        return False

    def _wake_starved(self) -> None:
        starved, self._starved = self._starved, set()
        for t in starved:
            t.wake()

    async def session(
        self,
        key: TargetKey,
        open_: Callable[[_Conn], Awaitable[T]],
    ) -> tuple[T, _Conn]:
        """Open a session with ``open_`` on a pooled connection; a refused session marks the
        connection full and another one is tried."""
        while True:
            c = await self.acquire(key)
            try:
                return await open_(c), c
            except asyncssh.ChannelOpenError as e:
                self.release(c)
                if c.closed or c.sessions == 0 or e.code == asyncssh.OPEN_REQUEST_SESSION_FAILED:
                    raise  # (a refused subsystem or command is no full connection)
                c.cap = max(1, c.sessions)  # the server's MaxSessions is lower than ours
            except BaseException:
                self.release(c)
                raise

    async def fanout_slot(self) -> _Counter | None:
        if self.limits.fanout is None:
            return None
        if self._fanout is None:
            self._fanout = _Counter(self.limits.fanout)
        return self._fanout

    async def _open(self, target: _Target) -> _Conn:
        key = target.key
        tunnel = None
        if key.jump is not None:
            tunnel = (await self.acquire(key.jump, session=False)).conn
        limiter = self._handshakes.get((key.host, key.port))
        if limiter is None:
            limiter = self._handshakes[(key.host, key.port)] = _Counter(
                self.limits.max_starting_connections
            )
        if self._all_handshakes is None:
            self._all_handshakes = _Counter(self.limits.max_starting_total)
        known = self._known_hosts(key)
        client = _Client(key.policy, known)
        assert self._all_handshakes is not None
        self._connecting += 1
        try:
            return await self._connect(
                target, key, tunnel, limiter, self._all_handshakes, known, client
            )
        finally:
            self._connecting -= 1
            if self._starved:
                self._wake_starved()

    async def _connect(
        self,
        target: _Target,
        key: TargetKey,
        tunnel: asyncssh.SSHClientConnection | None,
        limiter: _Counter,
        all_handshakes: _Counter,
        known: KnownHosts | None,
        client: _Client,
    ) -> _Conn:
        options = self._options(key, known)
        user: dict[str, str] = {"username": key.user} if key.user else {}
        # A plain TCP connection gets its small writes corked (see _corked); through a jump
        # host, or where an ssh_config could name a proxy, asyncssh connects as it would.
        via: object = tunnel if tunnel is not None or key.ssh_config else CORKED
        for attempt in range(_DROP_RETRIES + 1):
            try:
                async with limiter, all_handshakes:
                    conn = await asyncssh.connect(
                        key.host,
                        key.port or (),
                        tunnel=via,
                        config=[key.ssh_config] if key.ssh_config else None,
                        options=options,
                        client_factory=lambda: client,
                        **user,
                    )
                break
            except (asyncssh.ConnectionLost, ConnectionResetError):
                # Dropped before the handshake ended: sshd's MaxStartups (its count lags
                # behind ours), or a server restarting. Try again a few times.
                self._stats["dropped"] += 1
                if attempt == _DROP_RETRIES:
                    self._stats["failures"] += 1
                    raise
                await asyncio.sleep(0.05 * 2**attempt)
            except Exception:
                self._stats["failures"] += 1
                raise
        c = _Conn(target, conn, self.limits.max_sessions_per_connection, self._wake_starved)
        client.conn = c
        self._stats["opened"] += 1
        if self._closing:
            conn.close()
            raise ConnectFailed("the SSH pool is closing")
        target.conns.append(c)
        if key.keepalive is not None:
            # Named now: the commands opened before the keeper starts watch its file as
            # soon as it appears (a watchdog arms itself at the first beat it sees).
            self._keepers += 1
            c.heartbeat = f".execo-hb-{self._id}-{self._keepers}"
            c.keepalive = key.keepalive
        return c  # _opened() wakes the waiters

    # ------------------------------------------------------ heartbeat keepers

    async def _keep(self, c: _Conn, keepalive: float) -> None:
        """Open the heartbeat keeper of connection ``c``: a session whose remote side changes
        a file at each line we send (:func:`keeper_command`). The remote watchdogs of the
        commands on ``c`` read it: a connection cut silently stops the beats, and they end
        their commands within ``keepalive``. A server that refuses the extra session gets no
        keeper (the commands' watchdogs then only watch their sessions' ends)."""
        name = c.heartbeat
        assert name is not None
        watchdog = Watchdog(stale=max(1.0, keepalive * 0.8))
        try:
            chan, _ = await c.conn.create_session(
                lambda: _KeeperSession(c), keeper_command(name, watchdog), encoding=None
            )
        except (OSError, asyncssh.Error):
            return
        c.keeper = chan
        c.cap = max(1, c.cap - 1)  # the keeper takes one of the server's MaxSessions
        c.beat_every = max(0.5, keepalive / 10)
        chan.write(b"\n")
        c.next_beat = asyncio.get_running_loop().time() + c.beat_every
        if self._beater is None:
            self._beater = asyncio.ensure_future(self._beat())

    async def _beat(self) -> None:
        """Send every keeper its line when due (one task for the whole pool)."""
        loop = asyncio.get_running_loop()
        while not self._closing:
            now = loop.time()
            for t in self._targets.values():
                for c in t.conns:
                    if c.keeper is not None and not c.closed and c.next_beat <= now:
                        c.next_beat = now + c.beat_every
                        with contextlib.suppress(OSError, asyncssh.Error):
                            c.keeper.write(b"\n")
            await asyncio.sleep(0.5)

    def _known_hosts(self, key: TargetKey) -> KnownHosts | None:
        if key.policy == HostKeyPolicy.INSECURE:
            return None
        known = self._known.get(key.store)
        if known is None:
            files = ["~/.ssh/known_hosts", "~/.ssh/known_hosts2", "/etc/ssh/ssh_known_hosts"]
            known = self._known[key.store] = KnownHosts(Path(key.store), files)
        return known

    def _options(
        self, key: TargetKey, known: KnownHosts | None
    ) -> asyncssh.SSHClientConnectionOptions:
        """Options shared by every target with the same key file, policy and algorithms.

        ``connect()`` prepares them again for each host (config, user, port): built once
        here rather than per target, the options cost one preparation per connection, not
        two (about a quarter of the client's CPU for a cold connection).
        """
        cache_key = (
            key.keyfile,
            key.passphrase,
            key.policy,
            key.store,
            key.connect_timeout,
            key.kex,
            key.keepalive,
        )
        options = self._base_options.get(cache_key)
        if options is None:
            options = self._base_options[cache_key] = self._new_options(key, known)
        return options

    def _new_options(
        self, key: TargetKey, known: KnownHosts | None
    ) -> asyncssh.SSHClientConnectionOptions:
        kwargs: dict[str, Any] = {
            "connect_timeout": key.connect_timeout,
            "known_hosts": known.hosts if known is not None else None,
            "password_auth": False,
            "kbdint_auth": False,
            "gss_auth": False,
            "gss_kex": False,
            "kex_algs": list(key.kex),
            "encryption_algs": list(CIPHERS),
            "compression_algs": None,
            "config": None,
        }
        if key.keepalive is not None:  # a silently cut connection is closed within it
            kwargs["keepalive_interval"] = max(1.0, key.keepalive / 3)
            kwargs["keepalive_count_max"] = 3
        if key.keyfile:
            kwargs["client_keys"] = [self._key(key.keyfile, key.passphrase)]
        return asyncssh.SSHClientConnectionOptions(**kwargs)

    def _key(self, path: str, passphrase: Secret | None) -> asyncssh.SSHKey:
        k = self._keys.get((path, passphrase))
        if k is None:
            secret = passphrase.reveal() if passphrase is not None else None
            try:
                k = asyncssh.read_private_key(path, secret)
            except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as e:
                # Its message names no passphrase; its context could hold it: cut it.
                raise ConnectFailed(f"cannot use the key {path}: {e}") from None
            self._keys[(path, passphrase)] = k
        return k

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn(*args)`` on the pool's asyncio loop (from the caller's loop)."""
        return await self.bridge.run(fn, *args)


_DROP_RETRIES = 3
KEEPER_AFTER = 1.0  # seconds a command runs before its connection gets a keeper
_FD_RESERVE = 24  # descriptors kept free for pipes, files and the like, beside the sockets


def _settle_local_username() -> None:
    """Look the local user name up once, while descriptors are free: asyncssh asks for it at
    every connection (a passwd lookup, which fails once the descriptors are gone), unless
    the environment names it."""
    if not any(os.environ.get(v) for v in ("LOGNAME", "USER", "LNAME", "USERNAME")):
        try:
            os.environ["LOGNAME"] = local_username()
        except KeyError:
            pass


def ssh_pool(limits: Limits | None = None) -> SshPool:
    """A new :class:`SshPool`, to use as ``async with ssh_pool() as pool:``."""
    return SshPool(limits)
