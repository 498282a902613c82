"""The taktuk protocol, sans I/O: the command line we give taktuk and the records it prints.

taktuk (``man taktuk``) prints every stream through a Perl template given with ``-o``. Ours
print one record per line, fields separated by single spaces, and every free-form text
(output lines, connector messages) hex-encoded, so that no content (spaces, newlines, binary
data, our separators) can break the parsing, and ``$eol`` says whether the line ended with a
newline, so output is rebuilt byte for byte::

    O <position> <eol> <hex>              a line of a command's stdout
    R <position> <eol> <hex>              a line of a command's stderr
    S <position> <wait status>            the command's raw wait status (exit << 8 | signal)
    T <position> <rank> p<peer> <code>    a state event (codes in :class:`State`)
    N <position> p<peer> <hex>            the connector's stderr while connecting to <peer>
    K <position> <hex>                    taktuk's own messages (file transfer errors, ...)
    X <position> <hex>                    anything else (info, message streams)

``position`` is the host's position on the command line (1-based, 0 is the local root);
``rank`` is taktuk's logical number, known once the network is numbered; it names hosts in
the commands we send afterwards (``1/4/7 kill 15``).

With a ``taktuk_gateway``, the hosts are deployed through it (``-G gateway -[ -m host ...
-]``: a forward-only node, neither numbered nor targeted); taktuk then names them ``1.k``,
and the gateway ``1``. The templates print ``k`` for ``1.k`` and 0 for the gateway, so the
records read the same as without a gateway; when the gateway cannot be reached, its
failure is printed once per host.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import shlex
from collections.abc import Sequence

from .._core._config import EffectiveConnectionParams
from ._openssh import config_file_options, login_options

__all__ = [
    "ARGV_LIMIT",
    "Record",
    "State",
    "connector_command",
    "decode_wait_status",
    "delimiters_for",
    "parse_record",
    "taktuk_argv",
]

# Linux limits the whole argv+environ to about 2 MiB (a quarter of an 8 MiB stack); one
# argument may not exceed 128 KiB.
ARGV_LIMIT = 1_500_000
ARG_LIMIT = 131_000

_HEX_LINE = 'length($eol)." ".unpack("H*",$line)."\\n"'

TEMPLATES: tuple[tuple[str, str], ...] = (
    ("output", f'"O $position ".{_HEX_LINE}'),
    ("error", f'"R $position ".{_HEX_LINE}'),
    ("status", '"S $position $line\\n"'),
    ("state", '"T $position $rank p$peer_position $line\\n"'),
    ("connector", '"N $position p$peer_position ".unpack("H*",$line)."\\n"'),
    ("taktuk", '"K $position ".unpack("H*",$line)."\\n"'),
    ("info", '"X $position ".unpack("H*",$line)."\\n"'),
    ("message", '"X $position ".unpack("H*",$line)."\\n"'),
    ("default", '"X $position ".unpack("H*","$type: $line")."\\n"'),
)


# Through a gateway: "1.k" -> k, the gateway "1" -> 0 (a root record); "" stays "".
_NESTED_POSITION = "($position=~/^\\d+\\.(\\d+)$/?$1:0)"
_NESTED_PEER = '($peer_position=~/^\\d+\\.(\\d+)$/?$1:($peer_position eq ""?"":0))'


def _through_gateway(stream: str, template: str, hosts: int) -> str:
    """`template` for hosts behind a gateway: their positions ``1.k`` printed as ``k``; the
    gateway's connector messages and its connection failure (or loss) are repeated for
    every host (1 to `hosts`), since none of them can then be reached."""
    nested = template.replace("p$peer_position", f'p".{_NESTED_PEER}."').replace(
        "$position", f'".{_NESTED_POSITION}."'
    )
    if stream == "state":
        every = f'join("",map{{"T 0 -1 p$_ $line\\n"}}1..{hosts})'
        return f'($peer_position eq "1"&&$line=~/^[35]$/?{every}:{nested})'
    if stream == "connector":
        every = f'join("",map{{"N 0 p$_ ".unpack("H*",$line)."\\n"}}1..{hosts})'
        return f'($peer_position eq "1"?{every}:{nested})'
    return nested


class State(enum.IntEnum):
    """taktuk's state event codes (``man taktuk``, stream "state")."""

    READY = 0
    NUMBERED = 1
    TERMINATED = 2
    CONNECTION_FAILED = 3
    CONNECTION_INITIALIZED = 4
    CONNECTION_LOST = 5
    COMMAND_STARTED = 6
    COMMAND_FAILED = 7
    COMMAND_TERMINATED = 8
    NUMBERING_UPDATE_FAILED = 9
    FILE_RECEPTION_STARTED = 13
    FILE_RECEPTION_FAILED = 14
    FILE_RECEPTION_TERMINATED = 15
    FILE_SEND_FAILED = 16
    INVALID_TARGET = 17
    NO_TARGET = 18
    MESSAGE_DELIVERED = 19


@dataclasses.dataclass(frozen=True, slots=True)
class Record:
    """One parsed line of taktuk's output.

    ``kind`` is the record letter; ``position`` the host the record is about (for
    connector records and connection state events, the peer being connected to).
    """

    kind: str
    position: int
    data: bytes = b""
    eol: bool = False
    code: int | None = None
    rank: int | None = None
    reporter: int = 0


def _position(field: str) -> int | None:
    # Nested positions ("3.2") only arise from nested -m, which we never emit.
    return int(field) if field.isdigit() else None


def parse_record(line: bytes) -> Record | None:
    """Parse one line of taktuk's stdout (without its newline); None if it is not ours."""
    try:
        fields = line.decode("ascii").split(" ")
    except UnicodeDecodeError:
        return None
    try:
        kind = fields[0]
        where = _position(fields[1]) if len(fields) > 1 else None
        if where is None:
            return None
        if kind in ("O", "R") and len(fields) == 4:
            return Record(kind, where, bytes.fromhex(fields[3]), eol=fields[2] != "0")
        if kind == "S" and len(fields) == 3:
            return Record(kind, where, code=int(fields[2]))
        if kind == "T" and len(fields) == 5:
            rank = int(fields[2]) if fields[2].lstrip("-").isdigit() else None
            peer = _position(fields[3][1:])
            code = int(fields[4])
            if peer is not None:  # a connection event: it is about the peer
                return Record(kind, peer, code=code, rank=None, reporter=where)
            return Record(kind, where, code=code, rank=rank if rank and rank > 0 else None)
        if kind == "N" and len(fields) == 4:
            peer = _position(fields[2][1:])
            return Record(kind, peer if peer is not None else where, bytes.fromhex(fields[3]))
        if kind in ("K", "X") and len(fields) == 3:
            return Record(kind, where, bytes.fromhex(fields[2]))
    except ValueError:
        return None
    return None


def decode_wait_status(status: int) -> tuple[int | None, int | None]:
    """A raw wait status as taktuk reports it → ``(exit_code, signal)``."""
    if status & 0x7F:
        return None, status & 0x7F
    return (status >> 8) & 0xFF, None


def connector_command(params: EffectiveConnectionParams) -> str:
    """The connector command line for one host: its own user, key and port, and the ssh
    configuration file when it is not OpenSSH's default and the connector is ssh (a shell
    string: taktuk runs connectors through the shell)."""
    argv = [params.taktuk_connector]
    if os.path.basename(params.taktuk_connector) == "ssh":
        argv += config_file_options(params)
    argv += [*params.taktuk_connector_options, *login_options(params)]
    return shlex.join(argv)


def taktuk_argv(
    params: EffectiveConnectionParams,
    targets: Sequence[tuple[str, str]],
    commands: Sequence[str] | None,
) -> list[str]:
    """The whole taktuk command line (pure).

    Args:
        params: the action's parameters (taktuk binary, its options, connect timeout).
        targets: per host, in order, its (rewritten) address and connector command.
        commands: per host, the command it runs (None: no command, the network only, as
            Put and Get need). Identical commands become one ``broadcast exec``; different
            ones are given per host (``-m host -[ exec [ cmd ] -]``).

    With ``params.taktuk_gateway``, taktuk reaches the gateway first (with the action's
    connector) and deploys every host from there (``-G gateway -[ ... -]``).

    When hosts need different connectors (user, key or port), the tree is flat (``-d -1``):
    a taktuk node that steals deployment work uses its *own* connector for the hosts it
    steals, so with work stealing a host could be contacted with another host's options
    (verified with taktuk 3.7.7).

    Raises:
        ValueError: the command line would exceed the system's argument size limits.
    """
    connect_timeout = max(10, round(params.connect_timeout * 2))
    gateway = params.taktuk_gateway
    argv = [params.taktuk, *params.taktuk_options, "-i"]
    for stream, template in TEMPLATES:
        if gateway:
            template = _through_gateway(stream, template, len(targets))
        argv += ["-o", f"{stream}={template}"]
    connectors = {c for _, c in targets}
    if len(connectors) > 1:
        argv += ["-d", "-1"]
    argv += ["-t", str(connect_timeout)]
    if gateway:
        argv += ["-c", connector_command(params), "-G", params.rewritten_address(gateway), "-["]
    same_command = commands is not None and len(set(commands)) == 1
    current = None
    for i, (address, connector) in enumerate(targets):
        if connector != current:
            argv += ["-c", connector]
            current = connector
        argv += ["-m", address]
        if commands is not None and not same_command:
            argv += ["-[", "exec", "[", commands[i], "]", "-]"]
    if gateway:
        argv += ["-]"]
    if same_command and commands:
        argv += ["broadcast", "exec", "[", commands[0], "]"]
    total = sum(len(a) + 1 for a in argv)
    longest = max(len(a) for a in argv)
    if total > ARGV_LIMIT or longest > ARG_LIMIT:
        raise ValueError(
            f"the taktuk command line would be {total} bytes (longest argument {longest}): "
            f"more than the system allows; use fewer hosts per action or a shorter command"
        )
    return argv


_DELIMITERS = (("[", "]"), ("{", "}"), ("(", ")"), ("%", "%"), ("@", "@"), ("+", "+"))


def delimiters_for(*texts: str) -> tuple[str, str]:
    """A pair of taktuk argument delimiters that none of ``texts`` can be mistaken for.

    taktuk ends an argument at the first whitespace-separated word equal to the closing
    delimiter, so a path with a word ``]`` needs other delimiters.

    Raises:
        ValueError: a text contains a newline, or every delimiter occurs as a word.
    """
    for t in texts:
        if "\n" in t or "\r" in t:
            raise ValueError(f"taktuk cannot transfer a path containing a newline: {t!r}")
        if t != t.strip():
            raise ValueError(f"taktuk trims paths: leading/trailing spaces in {t!r}")
    words = {w for t in texts for w in t.split()}
    for opening, closing in _DELIMITERS:
        if closing not in words and opening not in words:
            return opening, closing
    raise ValueError(f"no taktuk delimiter fits the paths {texts!r}")
