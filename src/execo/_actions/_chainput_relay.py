"""ChainPut's relay in Python: the same roles, arguments, messages and exit codes as
``_chainput.sh``, at a third of its CPU.

This file runs on its own, on the remote hosts (``python3 -c <this source> ...``) and for the
local sender: it imports nothing from execo and keeps to Python 3.7. Arguments::

    ROLE PORT NC CLIENT_TIMEOUT SERVER_TIMEOUT TRIES HOPS DELAY SIZE FILE_OR_NAME HOST1 DEST1 ...

``send`` (locally): FILE to the first host of the chain that answers, behind the header line
``EXECO-CHAINPUT <secret>`` (the secret in ``$EXECO_CHAINPUT_SECRET``); the file goes by
``sendfile``. ``relay`` (on host k = ``$EXECO_CHAINPUT_POSITION``, else
``$TAKTUK_POSITION``): read ``<secret> <sha256>`` from stdin, listen on PORT, refuse a
stream whose header does not carry the secret, and pass the stream, header included, to the
next host that answers while keeping a copy at DESTk (a file, or NAME inside DESTk when
DESTk is a directory). Each block is written, forwarded and hashed as it comes, so the check
at the end (SIZE bytes, the source's sha256) costs nothing more. NC is netcat, for the shell
relay: unused here.

The differences with the shell relay: a next host that breaks off in the middle of the
stream stops the forwarding, not this host's own copy; the sender fails when no host of the
chain takes the stream. Exit codes: 2 cannot listen or no destination, 3 wrong size (a copy
that could not be written included), 4 unauthenticated stream, 5 wrong sha256.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import time
from typing import BinaryIO

HEADER = b"EXECO-CHAINPUT "
BLOCK = 1 << 20


def say(message: str) -> None:
    sys.stderr.write("chainput: " + message + "\n")
    sys.stderr.flush()


class Args:
    """The command line, as the shell relay reads it."""

    def __init__(self, argv: list[str]) -> None:
        if len(argv) < 10:
            say("usage: ROLE PORT NC CTO STO TRIES HOPS DELAY SIZE FILE [HOST DEST]...")
            sys.exit(2)
        self.role = argv[0]
        self.port = int(argv[1])
        self.client_timeout = float(argv[3])
        self.server_timeout = float(argv[4])
        self.tries = int(argv[5])
        self.hops = int(argv[6])
        self.delay = float(argv[7])
        self.size = int(argv[8])
        self.file = argv[9]
        rest = argv[10:]
        self.chain = [(rest[i], rest[i + 1]) for i in range(0, len(rest) - 1, 2)]


def connect_next(args: Args, first: int) -> tuple[socket.socket, str] | None:
    """A connection to the first host from position ``first`` (1-based) that accepts one:
    each host tried ``tries`` times, ``delay`` apart, at most ``hops`` hosts."""
    for hop, (host, _) in enumerate(args.chain[first - 1 :]):
        if hop >= args.hops:
            break
        reason = ""
        for attempt in range(args.tries):
            if attempt:
                time.sleep(args.delay)
            try:
                sock = socket.create_connection((host, args.port), args.client_timeout)
            except OSError as e:
                reason = str(e)
                continue
            sock.settimeout(None)
            return sock, host
        say("skipping " + host + ": " + reason)
    return None


def send(args: Args) -> int:
    secret = os.environ.get("EXECO_CHAINPUT_SECRET")
    if not secret:
        say("EXECO_CHAINPUT_SECRET is not set")
        return 2
    try:
        with open(args.file, "rb") as f:
            return send_file(args, f, secret)
    except OSError as e:
        say("cannot read " + args.file + ": " + str(e))
        return 2


def send_file(args: Args, f: BinaryIO, secret: str) -> int:
    found = connect_next(args, 1)
    if found is None:
        say("no host of the chain took the stream")
        return 1
    sock, host = found
    with sock:
        try:
            sock.sendall(HEADER + secret.encode() + b"\n")
            sock.sendfile(f)
            sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            say("sending to " + host + " broke: " + str(e))
            return 1
    return 0


def listen(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(4)
    return sock


def read_header(conn: socket.socket, limit: int) -> tuple[bytes, bytes]:
    """The first line (without its newline, at most ``limit`` bytes) and what came after."""
    data = b""
    while b"\n" not in data and len(data) <= limit:
        chunk = conn.recv(limit + 1)
        if not chunk:
            break
        data += chunk
    line, _, rest = data.partition(b"\n")
    return line, rest


def relay(args: Args) -> int:
    credentials = sys.stdin.readline().split()
    if len(credentials) != 2:
        say("no secret on stdin")
        return 4
    secret, sha = credentials
    # Given by ChainPut (one command per host), or by taktuk (the same command everywhere).
    position = os.environ.get("EXECO_CHAINPUT_POSITION") or os.environ.get("TAKTUK_POSITION", "")
    if not position.isdigit() or not 1 <= int(position) <= len(args.chain):
        say("no position in the chain (EXECO_CHAINPUT_POSITION, TAKTUK_POSITION): " + position)
        return 2
    k = int(position)
    me, dest = args.chain[k - 1]
    if not dest:
        say("no destination for position " + position)
        return 2
    if os.path.isdir(dest):
        dest = os.path.join(dest, args.file)
    # This host's own address when it is an IPv4 literal (several hosts may share a machine,
    # as on a loopback test cluster); any address otherwise.
    parts = me.split(".")
    bind = me if len(parts) == 4 and all(p.isdigit() for p in parts) else ""
    try:
        server = listen(bind, args.port)
    except OSError as e:
        say("cannot listen on port " + str(args.port) + ": " + str(e))
        return 2
    sys.stdout.write("READY (python)\n")
    sys.stdout.flush()
    header = HEADER + secret.encode()
    with server:
        conn, _ = server.accept()
    with conn:
        conn.settimeout(args.server_timeout)
        try:
            line, first = read_header(conn, len(header))
        except OSError as e:
            line, first = b"", b""
            say("reading the stream's header: " + str(e))
        if line != header:
            drain(conn)
            say("refused a stream without this transfer's secret (not from the chain)")
            return 4
        return keep_and_forward(args, conn, first, header, dest, sha, k)


def drain(conn: socket.socket) -> None:
    try:
        while conn.recv(BLOCK):
            pass
    except OSError:
        pass


def keep_and_forward(
    args: Args, conn: socket.socket, first: bytes, header: bytes, dest: str, sha: str, k: int
) -> int:
    try:
        fd: int | None = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as e:
        fd = None
        say("cannot write " + dest + ": " + str(e))
    found = connect_next(args, k + 1)
    nxt, nxt_host = found if found is not None else (None, "")
    if nxt is not None:
        try:
            nxt.sendall(header + b"\n")
        except OSError as e:
            say("forwarding to " + nxt_host + " broke at once: " + str(e))
            nxt.close()
            nxt = None
    digest = hashlib.sha256()
    got = 0
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    pending = first
    try:
        while True:
            if pending:
                block = memoryview(pending)
                pending = b""
            else:
                try:
                    n = conn.recv_into(buf)
                except socket.timeout:  # noqa: UP041 (not TimeoutError before 3.10)
                    say("no data for " + str(args.server_timeout) + " s after " + str(got))
                    break
                except OSError as e:
                    say("receiving broke after " + str(got) + " bytes: " + str(e))
                    break
                if not n:
                    break
                block = view[:n]
            got += len(block)
            if nxt is not None:
                try:
                    nxt.sendall(block)
                except OSError as e:
                    say("forwarding to " + nxt_host + " broke after " + str(got) + ": " + str(e))
                    nxt.close()
                    nxt = None
            if fd is not None:
                try:
                    write_all(fd, block)
                except OSError as e:
                    say("writing " + dest + " broke after " + str(got) + " bytes: " + str(e))
                    os.close(fd)
                    fd = None
            digest.update(block)
    finally:
        if nxt is not None:
            try:
                nxt.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            nxt.close()
        if fd is not None:
            os.close(fd)
    if fd is None:  # it could not be opened, or a write failed
        say("no complete copy at " + dest)
        return 3
    if got != args.size:
        say("received " + str(got) + " of " + str(args.size) + " bytes")
        return 3
    if digest.hexdigest() != sha:
        say("the copy's sha256 " + digest.hexdigest() + " is not the source's " + sha)
        return 5
    sys.stdout.write("RECEIVED " + str(got) + "\n")
    return 0


def write_all(fd: int, block: memoryview) -> None:
    while block:
        block = block[os.write(fd, block) :]


def main(argv: list[str]) -> int:
    args = Args(argv)
    if args.role == "send":
        return send(args)
    if args.role == "relay":
        return relay(args)
    say("unknown role " + repr(args.role))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
