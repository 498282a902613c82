"""Serial ports: a local or remote process bridging a tty device to stdin/stdout."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from typing import Unpack

from .._core._config import ConnectionParamsLike
from .._core._host import HostLike
from .._core._local import Process
from .._core._options import check_keywords
from .._core._process import SshProcessOptions
from .._transports._factories import TransportLike
from .._transports._process import SshProcess
from ._action import ActionOptions
from ._remote import Remote, RemoteProcessArgs

__all__ = ["RemoteSerial", "Serial", "SerialSsh", "serial_command"]

_RAW = (
    "cs8 -parenb -cstopb -crtscts -ixon -ixoff -icanon -echo -echoe -echok -echoctl -isig "
    "-opost -onlcr -icrnl -inlcr min 1 time 0"
)


def serial_command(device: str, speed: int) -> str:
    """Shell code: set ``device`` to raw mode at ``speed``, copy it to stdout, stdin to it."""
    dev = shlex.quote(device)
    return f"stty -F {dev} {int(speed)} {_RAW} && {{ cat {dev} & cat > {dev}; }}"


class Serial(Process):
    """A local serial port as a process: ``write()`` sends, ``expect()`` reads."""

    _kind = "Serial"

    def __init__(self, device: str, speed: int, **options: Unpack[SshProcessOptions]) -> None:
        check_keywords(self, options, SshProcessOptions)
        options.setdefault("name", f"serial {device}")
        super().__init__(serial_command(device, speed), shell=True, **options)
        self.device = device
        self.speed = speed


class SerialSsh(SshProcess):
    """A serial port of a remote host, through ssh."""

    _kind = "SerialSsh"

    def __init__(
        self,
        host: HostLike,
        device: str,
        speed: int,
        *,
        connection_params: ConnectionParamsLike = None,
        transport: TransportLike = None,
        **options: Unpack[SshProcessOptions],
    ) -> None:
        check_keywords(self, options, SshProcessOptions)
        options.setdefault("name", f"serial {device}")
        super().__init__(
            serial_command(device, speed),
            host,
            connection_params=connection_params,
            transport=transport,
            **options,
        )
        self.device = device
        self.speed = speed


class RemoteSerial(Remote):
    """The serial port ``device`` (substituted per host) of every host."""

    _kind = "RemoteSerial"

    def __init__(
        self,
        hosts: Iterable[HostLike] | HostLike,
        device: str,
        speed: int,
        *,
        connection_params: ConnectionParamsLike = None,
        process_args: RemoteProcessArgs | None = None,
        transport: TransportLike = None,
        **options: Unpack[ActionOptions],
    ) -> None:
        stty = f"stty -F {device} {int(speed)} {_RAW}"
        cmd = f"{stty} && {{ cat {device} & cat > {device}; }}"
        options.setdefault("name", f"RemoteSerial {device}")
        super().__init__(
            cmd,
            hosts,
            connection_params=connection_params,
            process_args=process_args,
            transport=transport,
            **options,
        )
