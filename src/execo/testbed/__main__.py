"""python -m execo.testbed up N | status | down: local clusters from a shell.

up brings up a detached cluster (it outlives the command) and prints how to reach its hosts.
status lists the recorded clusters (and, as root, orphan network objects: those of netns
clusters whose state file is lost). down tears down the detached and stale ones (or those
named); down --orphans also removes the orphans. Exit status: 0 on success, 1 if something
could not be done. "execo testbed ..." is the same command.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ._cluster import LocalCluster, teardown
from ._errors import TestbedError
from ._netns import clean_orphans, find_orphans
from ._state import ClusterState, default_state_dir, list_states


def _describe(state: ClusterState) -> dict[str, object]:
    if state.detached:
        owner = "detached"
    else:
        assert state.owner is not None
        owner = f"pid {state.owner.pid}" + (" (gone: stale)" if state.stale else "")
    return {
        "id": state.id,
        "mode": state.mode,
        "n": state.n,
        "owner": owner,
        "stale": state.stale,
        "servers_alive": sum(s.alive() for s in state.servers),
        "workdir": state.workdir,
        "ssh_config": str(Path(state.workdir) / "ssh_config"),
        "keyfile": state.keyfile,
        "hosts": state.hosts,
    }


def _up(args: argparse.Namespace) -> int:
    cluster = LocalCluster(args.n, mode=args.mode, state_dir=args.state_dir)
    try:
        cluster.start(detached=True)
    except TestbedError as e:
        print(f"up: {e}", file=sys.stderr)
        return 1
    info = _describe(cluster.state)
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        first = cluster.nodes[0]
        print(f"local cluster {cluster.id}: {cluster.n} hosts, {cluster.mode} mode")
        for node in cluster.nodes:
            print(f"  {node.name:12} {node.host.address}:{node.host.port}")
        print(f"ssh:  ssh -F {cluster.ssh_config} {first.name} hostname")
        print(f"down: {args.prog} down {cluster.id}")
    return 0


def _status(args: argparse.Namespace) -> int:
    states = list_states(args.state_dir)
    if args.json:
        print(json.dumps([_describe(s) for s in states], indent=1))
        return 0
    if not states:
        print(f"no local cluster recorded in {args.state_dir}")
    if os.geteuid() == 0:
        for orphan in find_orphans(states):
            objects = [*orphan.namespaces, *orphan.veths, *filter(None, [orphan.bridge])]
            print(f"orphan network objects (down --orphans removes them): {' '.join(objects)}")
    for state in states:
        d = _describe(state)
        print(
            f"{d['id']:12} {d['mode']:8} {d['n']:4} hosts  sshd alive: {d['servers_alive']:<4} "
            f"owner: {d['owner']}  ssh -F {d['ssh_config']}"
        )
    return 0


def _down(args: argparse.Namespace) -> int:
    states = list_states(args.state_dir)
    known = {s.id for s in states}
    for name in args.ids:
        if name not in known:
            print(f"down: no cluster {name!r} in {args.state_dir}", file=sys.stderr)
            return 1
    status = 0
    for state in states:
        chosen = state.id in args.ids if args.ids else (state.detached or state.stale)
        if not chosen:
            continue
        if not (state.detached or state.stale or args.force):
            print(f"down: {state.id} is owned by a live process; use --force", file=sys.stderr)
            status = 1
            continue
        left = teardown(state)
        if left:
            print(f"down: {state.id}: could not remove {', '.join(left)}", file=sys.stderr)
            status = 1
        else:
            print(f"{state.id} down")
    if args.orphans:
        if os.geteuid() != 0:
            print("down: --orphans needs root", file=sys.stderr)
            return 1
        removed, left = clean_orphans(list_states(args.state_dir))
        if removed:
            print(f"orphans removed: {' '.join(removed)}")
        if left:
            print(f"down: could not remove orphans {', '.join(left)}", file=sys.stderr)
            status = 1
    return status


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m execo.testbed") -> int:
    """Run the command line; returns the exit status.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).
        prog: the command's name in the usage and help (``execo testbed`` reuses it).
    """
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--state-dir", type=Path, default=None, help="default: %(default)s")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="bring up a detached cluster of N hosts")
    up.add_argument("n", type=int)
    up.add_argument("--mode", choices=["auto", "netns", "loopback"], default="auto")
    up.add_argument("--json", action="store_true", help="print the cluster as JSON")
    status = sub.add_parser("status", help="list the recorded clusters")
    status.add_argument("--json", action="store_true")
    down = sub.add_parser("down", help="tear down the detached and stale clusters, or IDS")
    down.add_argument("ids", nargs="*", metavar="ID")
    down.add_argument("--force", action="store_true", help="also clusters of live processes")
    down.add_argument(
        "--orphans",
        action="store_true",
        help="also namespaces, veths and bridges of netns clusters no state file records",
    )
    args = parser.parse_args(argv)
    args.prog = prog
    if args.state_dir is None:
        args.state_dir = default_state_dir()
    handler = {"up": _up, "status": _status, "down": _down}[args.command]
    try:
        return handler(args)
    except TestbedError as e:
        print(f"{args.command}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
