"""The ``execo`` command: ad-hoc commands and copies on host sets, and local clusters.

  execo run -w NODESET [-b] [--transport ssh|asyncssh|taktuk] [-t TIMEOUT] COMMAND...
  execo put -w NODESET [options] FILE... REMOTE_DIR
  execo get -w NODESET [options] FILE... LOCAL_DIR
  execo testbed up N | status | down

NODESET is a host set in ClusterShell's notation (node-[1-50],frontend; -w may be given
several times, -x removes hosts). In COMMAND and in the paths, {{{host}}} is each host's
address. The exit status is 0 when every host succeeded; otherwise the largest exit status
of the failed commands (1 when none has one, e.g. unreachable hosts), and the failed hosts
are named on stderr. 2 means a usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ._actions._action import Action
    from ._core._host import Host

__all__ = ["main"]

_EPILOG = """\
examples:
  execo run -w 'node-[1-4]' hostname
  execo run -w 'node-[1-4]' -b uname -r         gather identical outputs
  execo run -w '10.0.0.[1-9]' -x 10.0.0.5 -t 30 'echo {{{host}}}; uptime'
  execo put -w 'node-[1-4]' bench.tar /tmp/
  execo get -w 'node-[1-4]' /tmp/result.json 'results/{{{host}}}'
  execo testbed up 4
"""


def _connection_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("hosts and connection")
    g.add_argument(
        "-w",
        dest="nodes",
        action="append",
        required=True,
        metavar="NODESET",
        help="the hosts, a host set (node-[1-4],frontend); may be repeated",
    )
    g.add_argument(
        "-x",
        dest="exclude",
        action="append",
        default=[],
        metavar="NODESET",
        help="hosts to leave out",
    )
    g.add_argument("-l", "--user", help="login name")
    g.add_argument("-p", "--port", type=int, help="ssh port")
    g.add_argument("-i", "--keyfile", metavar="FILE", help="private key to log in with")
    g.add_argument("-F", "--ssh-config", metavar="FILE", help="ssh client configuration file")
    g.add_argument(
        "-f",
        "--fanout",
        type=int,
        metavar="N",
        help="at most N processes at once (default: as many as possible)",
    )
    g.add_argument(
        "-t",
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="kill what still runs after this long",
    )
    g.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log execo's warnings (-vv: its debug messages too)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="execo",
        description="Run commands and copy files on host sets; manage local test clusters.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"execo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run a command on every host",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection_options(run)
    run.add_argument(
        "-b",
        "--gather",
        action="store_true",
        help="gather identical outputs, print them once per host set at the end",
    )
    run.add_argument(
        "--transport",
        choices=["ssh", "asyncssh", "taktuk"],
        default=None,
        help="how to reach the hosts (default: configuration['remote_tool'])",
    )
    run.add_argument("cmd", nargs=argparse.REMAINDER, metavar="COMMAND...")
    put = sub.add_parser("put", help="copy local files to every host")
    _connection_options(put)
    put.add_argument("--transport", choices=["scp", "asyncssh", "taktuk"], default=None)
    put.add_argument("paths", nargs="+", metavar="FILE... REMOTE_DIR")
    get = sub.add_parser("get", help="copy files from every host to a local directory")
    _connection_options(get)
    get.add_argument("--transport", choices=["scp", "asyncssh", "taktuk"], default=None)
    get.add_argument("paths", nargs="+", metavar="FILE... LOCAL_DIR")
    sub.add_parser(
        "testbed", help="local clusters: execo testbed up N | status | down", add_help=False
    )
    return parser


def _hosts(args: argparse.Namespace) -> list[Host]:
    from ._core._host import get_hosts_list

    hosts = get_hosts_list(args.nodes)
    excluded = {h.address for h in get_hosts_list(args.exclude)}
    return [h for h in hosts if h.address not in excluded]


def _params(args: argparse.Namespace) -> dict[str, object]:
    given = {"user": args.user, "port": args.port, "keyfile": args.keyfile}
    params: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    if args.ssh_config is not None:
        params["ssh_config"] = args.ssh_config
    return params


def _action(args: argparse.Namespace, hosts: list[Host], out: TextIO, err: TextIO) -> Action:
    from ._actions._remote import Get, Put, Remote, RemoteProcessArgs
    from ._display._console import HostPrefixedOutput

    params, timeout, fanout = _params(args), args.timeout, args.fanout
    if args.command == "run":
        handlers: RemoteProcessArgs = {"stderr_handlers": [HostPrefixedOutput(err)]}
        if not args.gather:
            handlers["stdout_handlers"] = [HostPrefixedOutput(out)]
        return Remote(
            " ".join(args.cmd),
            hosts,
            connection_params=params,
            process_args=handlers,
            namespace={},
            transport=args.transport,
            timeout=timeout,
            fanout=fanout,
        )
    copy = Put if args.command == "put" else Get
    return copy(
        hosts,
        args.paths[:-1],
        args.paths[-1],
        connection_params=params,
        namespace={},
        transport=args.transport,
        timeout=timeout,
        fanout=fanout,
    )


async def _run(args: argparse.Namespace, hosts: list[Host], out: TextIO, err: TextIO) -> int:
    from ._core._failures import describe_failures
    from ._core._host import fold_hosts
    from ._display._console import format_gathered, gather_outputs, progress

    action = _action(args, hosts, out, err)
    if args.command == "run" and args.gather and err.isatty():
        async with progress(action, out=err), action:
            pass
    else:
        await action.run()
    if args.command == "run" and args.gather:
        done = [p for p in action.processes if p.stdout]
        if done:
            out.write(format_gathered(gather_outputs(done)) + "\n")
    out.flush()
    failed = action.failed
    if not failed:
        return 0
    where = fold_hosts(p.host for p in failed)
    err.write(f"execo {args.command}: {len(failed)} of {len(action.processes)} failed: {where}\n")
    for line in describe_failures(failed):
        err.write(f"  {line}\n")
    codes = [p.exit_code for p in failed if p.exit_code]
    return max(codes) if codes else 1


def _testbed(argv: Sequence[str]) -> int:
    from .testbed.__main__ import main as testbed_main

    return testbed_main(argv, prog="execo testbed")


def main(argv: Sequence[str] | None = None) -> int:
    """The ``execo`` console script; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["testbed"]:
        return _testbed(args_list[1:])
    parser = _parser()
    args = parser.parse_args(args_list)
    if args.command == "run" and not args.cmd:
        parser.error("run: no COMMAND given")
    if args.command in ("put", "get") and len(args.paths) < 2:
        parser.error(f"{args.command}: give the files, then the destination directory")
    from ._core._config import configuration

    configuration["log_level"] = ("ERROR", "WARNING", "DEBUG")[min(args.verbose, 2)]
    try:
        hosts = _hosts(args)
    except (ValueError, TypeError) as e:
        parser.error(str(e))
    if not hosts:
        parser.error("no host left (-w minus -x is empty)")
    import trio

    from ._core._errors import ExecoError

    try:
        return trio.run(_run, args, hosts, sys.stdout, sys.stderr)
    except (ExecoError, ValueError) as e:
        print(f"execo {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"execo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
