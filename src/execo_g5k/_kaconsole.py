"""`KaconsoleProcess`: the serial console of a node (``kaconsole3 -m node``), logged into.

kaconsole3 runs on the node's frontend (over ``ssh -tt``, or here when there is no frontend
to go to) and needs a terminal: the process runs in a local pty. Once it is connected it
prints ``[Kaconsole] kill sequence: ^[^[^[^[`` (and Grid'5000's conman prints ``<ConMan>
Connection to console [node] opened.``); what follows is the node's console. `wait_connected`
then logs in as execo did: Ctrl-D and Enter twice (ending any shell left logged in, and
getting a fresh ``login:``), the user, the password, and waits for the shell prompt.
`close` sends kaconsole3's kill sequence (four ESC characters).
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Iterable
from types import TracebackType

import anyio

from execo import (
    ExecoUsageError,
    ExpectResult,
    Host,
    HostLike,
    OutputHandlerSpec,
    Process,
    resolve_connection_params,
)
from execo._core._config import ConnectionParamsLike
from execo._transports._openssh import ssh_argv

from ._frontend import get_frontend_host, make_frontend_connection_params
from ._kadeploy import host_site

__all__ = ["KaconsoleProcess"]

logger = logging.getLogger("execo_g5k.kaconsole")

KILL_SEQUENCE = "\x1b\x1b\x1b\x1b"
_CONNECTED = r"\[Kaconsole\] kill sequence|<ConMan> Connection to console .* opened"


class KaconsoleProcess(Process):
    """A node's console through ``kaconsole3``, logged in by `wait_connected`.

    Use it as a scope: ``async with KaconsoleProcess(node) as console:``, then ``await
    console.wait_connected()``, `write` commands and `expect` (or `expect_prompt`) their
    output; leaving the block closes the console (`close`).

    Args:
        host: The node whose console to open.
        frontend: The site whose frontend runs kaconsole3; default: the node's site (from
            its name), else the default frontend.
        frontend_connection_params: Overrides of `default_frontend_connection_params`.
        console_user: Who logs in on the console.
        console_password: That user's password (Grid'5000 environments: ``grid5000``).
            It is only ever written to the console, never shown in a repr or a log.
        connection_timeout: Seconds `wait_connected` allows the whole login by default.
        prompt: Regex of the shell prompt once logged in.
        kaconsole3: The kaconsole3 command on the frontend.
        timeout: Seconds after which the process is killed (None: never).
        stdout_handlers: Where else the console's output goes.
        name: Display name.

    Attributes:
        node: The node.
        connected: Whether the login succeeded.
    """

    _kind = "KaconsoleProcess"

    def __init__(
        self,
        host: HostLike,
        *,
        frontend: str | None = None,
        frontend_connection_params: ConnectionParamsLike = None,
        console_user: str = "root",
        console_password: str = "grid5000",
        connection_timeout: float = 20.0,
        prompt: str = r"root@[^#\n]*# ?",
        kaconsole3: str = "kaconsole3",
        timeout: float | None = None,
        stdout_handlers: Iterable[OutputHandlerSpec] = (),
        name: str | None = None,
    ) -> None:
        node = Host.of(host)
        site = frontend if frontend is not None else host_site(node.address)
        frontend_host = get_frontend_host(site)
        remote = [kaconsole3, "-m", node.address]
        if frontend_host is None:
            argv = remote
        else:
            overlay = make_frontend_connection_params(frontend_connection_params)
            params = resolve_connection_params(overlay, frontend_host)
            argv = [*ssh_argv(params, frontend_host.address, pty=True), shlex.join(remote)]
        re.compile(prompt)  # a bad regex fails here, not in the middle of a login
        super().__init__(
            argv,
            pty=True,
            timeout=timeout,
            stdout_handlers=stdout_handlers,
            nolog_exit_code=True,
            name=name if name is not None else f"kaconsole3 {node.address}",
        )
        self.node = node
        self.frontend = site
        self.console_user = console_user
        self._password = console_password
        self.connection_timeout = connection_timeout
        self.prompt = prompt
        self._login_lock = anyio.Lock()
        self._login_tried = False

    def _clear_state(self) -> None:
        super()._clear_state()
        self.connected = False
        self._login_tried = False

    async def _step(self, regex: str, deadline: float, what: str) -> bool:
        left = max(0.0, deadline - anyio.current_time())
        if await self.expect(regex, timeout=left):
            return True
        logger.warning("console of %s: no %s within the connection timeout", self.node, what)
        return False

    async def wait_connected(self, timeout: float | None = None) -> bool:
        """Logs in (the first time) and says whether the console is connected.

        Args:
            timeout: Seconds for the whole login; default `connection_timeout`.

        Raises:
            ExecoUsageError: The process was not started.
        """
        if not self.started:
            raise ExecoUsageError(f"{self.name}: wait_connected() before the process started")
        async with self._login_lock:
            if self._login_tried:
                return self.connected
            self._login_tried = True
            seconds = self.connection_timeout if timeout is None else timeout
            deadline = anyio.current_time() + seconds
            if not await self._step(_CONNECTED, deadline, "connection to the console"):
                return False
            await self.write("\x04\n\x04\n")
            if not await self._step(r"login: ", deadline, "'login:' prompt"):
                return False
            await self.write(self.console_user + "\n")
            if not await self._step(r"[Pp]assword: ", deadline, "'Password:' prompt"):
                return False
            await self.write(self._password + "\n")
            self.connected = await self._step(self.prompt, deadline, "shell prompt after login")
            return self.connected

    async def expect_prompt(self, timeout: float | None = None) -> ExpectResult:
        """Waits for the next shell prompt (see `expect`)."""
        return await self.expect(self.prompt, timeout=timeout)

    async def close(self, timeout: float = 5.0) -> None:
        """Sends kaconsole3's kill sequence and waits for the end (kills after `timeout`)."""
        if self.running:
            await self.write(KILL_SEQUENCE)
            await self.wait(timeout)
        if self.running:
            await self.kill()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc is None:
            await self.close()
        return await super().__aexit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        return f"<KaconsoleProcess {self.node.address} {self.status.value}>"
