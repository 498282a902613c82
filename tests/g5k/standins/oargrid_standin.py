#!/usr/bin/env python3
"""Stand-in for oargrid's ``oargridsub``, ``oargridstat`` and ``oargriddel`` (tests only).

oargrid is not packaged (not in Debian, not on PyPI) and Grid'5000 no longer runs it, so
this script plays it, on top of the REAL local OAR: ``oargridsub`` makes one real advance
reservation (``oarsub -r``) per cluster, all or nothing, and ``oargriddel`` deletes them
with ``oardel``. Called through a link named after the command it plays. Its output
follows what execo 2.8.2 parsed from the real tools:

* ``oargridsub -v``: ``[OAR_GRIDSUB] Grid reservation id = N`` and
  ``[OAR_GRIDSUB] SSH KEY : /tmp/oargrid/oargrid_ssh_key_<user>_<N>``;
* ``oargridstat [ID]``: ``Reservation # N:`` blocks with ``start date : YYYY-MM-DD
  HH:MM:SS`` (local time of the frontend), ``walltime : H:MM:SS``, ``user : <login>`` and
  one ``\\t<cluster> --> <oar job id>`` line per cluster;
* ``oargridstat [-w] -l ID``: the nodes, one line per resource (so with repeats).

A cluster alias is a value of OAR's ``cluster`` property (an unknown one fails like an
impossible request). State: ``$OARGRID_STANDIN_DIR/grid.json``.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

STATE = Path(os.environ.get("OARGRID_STANDIN_DIR", "/tmp/oargrid-standin")) / "grid.json"


def load() -> dict[str, Any]:
    if STATE.exists():
        state: dict[str, Any] = json.loads(STATE.read_text())
        return state
    return {"next": 1, "jobs": {}}


def save(state: dict[str, Any]) -> None:
    STATE.parent.mkdir(parents=True, exist_ok=True)
    STATE.write_text(json.dumps(state))


def local_date(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def seconds(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return h * 3600 + m * 60 + s


def oarstat(job_id: int) -> dict[str, Any]:
    out = subprocess.run(
        ["oarstat", "-f", "-j", str(job_id), "-J"], capture_output=True, text=True
    ).stdout
    return json.loads(out).get(str(job_id), {}) if out.strip() else {}


def oargridsub(args: list[str]) -> int:
    opts = {"-s": None, "-w": "1:00:00", "-q": None, "-t": None, "-d": None, "-i": None}
    rest = []
    i = 0
    while i < len(args):
        if args[i] == "-v":
            i += 1
        elif args[i] in opts:
            opts[args[i]] = args[i + 1]
            i += 2
        else:
            rest.append(args[i])
            i += 1
    if len(rest) != 1:
        print("Usage: oargridsub [options] cluster1:rdef=...,cluster2:rdef=...", file=sys.stderr)
        return 1
    start = (
        time.time() + 2
        if opts["-s"] is None
        else time.mktime(time.strptime(opts["-s"], "%Y-%m-%d %H:%M:%S"))
    )
    date = local_date(start)
    print("[OAR_GRIDSUB] Date/TZ adjustment: 0 seconds")
    created: list[tuple[str, int]] = []
    for spec in re.split(r",(?=[\w.-]+:rdef=)", rest[0]):
        alias, _, fields = spec.partition(":")
        parts = dict(p.split("=", 1) for p in re.split(r":(?=(?:rdef|type|prop|name)=)", fields))
        prop = f"cluster='{alias}'" + (f" AND ({parts['prop']})" if "prop" in parts else "")
        argv = ["oarsub", "-r", date, "-l", f"{parts['rdef']},walltime={opts['-w']}", "-p", prop]
        for key, flag in (("type", "-t"), ("name", "-n")):
            if key in parts:
                argv += [flag, parts[key]]
        if opts["-t"]:
            argv += ["-t", opts["-t"]]
        if opts["-q"]:
            argv += ["-q", opts["-q"]]
        if opts["-d"]:
            argv += ["-d", opts["-d"]]
        out = subprocess.run(argv, capture_output=True, text=True)
        m = re.search(r"^OAR_JOB_ID=(\d+)$", out.stdout, re.MULTILINE)
        if out.returncode != 0 or m is None or "--> OK" not in out.stdout:
            print(
                f"[OAR_GRIDSUB] [{alias}] I cannot make a reservation on {alias}: "
                + " ".join((out.stdout + out.stderr).split())
            )
            if m:
                created.append((alias, int(m.group(1))))
            for _, job_id in created:
                subprocess.run(["oardel", str(job_id)], capture_output=True)
            print("[OAR_GRIDSUB] Grid reservation failed")
            return 1
        job_id = int(m.group(1))
        created.append((alias, job_id))
        print(f"[OAR_GRIDSUB] [{alias}] Reservation success on {alias} : batchId = {job_id}")
    state = load()
    grid_id = state["next"]
    state["next"] += 1
    # the owner of the OAR jobs (the tests run this as root, with oarsub run as oartest)
    user = oarstat(created[0][1]).get("owner") or getpass.getuser()
    state["jobs"][str(grid_id)] = {
        "user": user,
        "submission": time.time(),
        "start": start,
        "walltime": opts["-w"],
        "clusters": created,
        "deleted": False,
    }
    save(state)
    print(f"[OAR_GRIDSUB] Grid reservation id = {grid_id}")
    print(f"[OAR_GRIDSUB] SSH KEY : /tmp/oargrid/oargrid_ssh_key_{user}_{grid_id}")
    print("\tYou can use this key to connect directly to your OAR nodes with the oar user.")
    return 0


def block(grid_id: str, job: dict[str, Any]) -> str:
    lines = [
        f"Reservation # {grid_id}:",
        f"\tsubmission date : {local_date(job['submission'])}",
        f"\tstart date : {local_date(job['start'])}",
        f"\twalltime : {job['walltime']}",
        f"\tuser : {job['user']}",
        "\tclusters with job id:",
    ]
    lines += [f"\t{alias} --> {job_id}" for alias, job_id in job["clusters"]]
    return "\n".join(lines)


def alive(job: dict[str, Any]) -> bool:
    if job["deleted"]:
        return False
    return any(
        oarstat(j).get("state") not in (None, "Terminated", "Error") for _, j in job["clusters"]
    )


def oargridstat(args: list[str]) -> int:
    state = load()
    wait = "-w" in args
    ids = [a for a in args if a.isdigit()]
    if "-l" in args:
        job = state["jobs"].get(ids[0]) if ids else None
        if job is None:
            print(
                f"[OARGRIDSTAT] Reservation # {ids[0] if ids else '?'} does not exist",
                file=sys.stderr,
            )
            return 1
        deadline = time.time() + 300
        while True:
            infos = [oarstat(j) for _, j in job["clusters"]]
            if (
                not wait
                or all(i.get("state") == "Running" for i in infos)
                or time.time() > deadline
            ):
                break
            time.sleep(1)
        for info in infos:
            nodes = info.get("assigned_network_address") or []
            per_node = max(1, len(info.get("assigned_resources") or []) // max(1, len(nodes)))
            for node in nodes:
                print("\n".join([node] * per_node))
        return 0
    if ids:
        job = state["jobs"].get(ids[0])
        if job is None:
            print(f"[OARGRIDSTAT] Reservation # {ids[0]} does not exist", file=sys.stderr)
            return 1
        print(block(ids[0], job))
        return 0
    for grid_id, job in state["jobs"].items():
        if alive(job):
            print(block(grid_id, job))
    return 0


def oargriddel(args: list[str]) -> int:
    state = load()
    rc = 0
    for grid_id in args:
        job = state["jobs"].get(grid_id)
        if job is None or job["deleted"]:
            print(f"[OARGRIDDEL] Reservation # {grid_id} does not exist or is already deleted")
            rc = 1
            continue
        for alias, job_id in job["clusters"]:
            print(f"[OARGRIDDEL] I am deleting the job {job_id} on {alias} ...")
            subprocess.run(["oardel", str(job_id)], capture_output=True)
        job["deleted"] = True
    save(state)
    return rc


if __name__ == "__main__":
    tool = Path(sys.argv[0]).name
    handlers = {"oargridsub": oargridsub, "oargridstat": oargridstat, "oargriddel": oargriddel}
    sys.exit(handlers[tool](sys.argv[1:]))
