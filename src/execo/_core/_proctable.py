"""The local process table, read from /proc (pure Python, no execo import: the supervisor
runs it as a script too): who is in a process group, and what descends from it.

A process group is not a tree: a child can leave its parent's group (taktuk puts each ssh
connector in a group of its own; a program may call ``setpgid`` or ``setsid``). Killing "the
whole process tree" therefore means the group, and every descendant of its members wherever
its group is.
"""

from __future__ import annotations

import os
from typing import NamedTuple

__all__ = ["Entry", "descendants", "group_alive", "members", "snapshot"]


class Entry(NamedTuple):
    pid: int
    ppid: int
    pgrp: int
    zombie: bool


def snapshot() -> list[Entry]:
    """Every process now (empty if /proc cannot be read)."""
    out: list[Entry] = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may contain spaces and parentheses.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2:
            out.append(Entry(int(name), int(fields[1]), int(fields[2]), fields[0] == b"Z"))
    return out


def members(pgid: int, table: list[Entry]) -> list[int]:
    """The live (non-zombie) members of the group ``pgid``."""
    return [e.pid for e in table if e.pgrp == pgid and not e.zombie]


def descendants(pgid: int, table: list[Entry]) -> list[int]:
    """The live descendants of the members of ``pgid`` that are in *other* groups."""
    children: dict[int, list[Entry]] = {}
    for e in table:
        children.setdefault(e.ppid, []).append(e)
    todo = [e.pid for e in table if e.pgrp == pgid]
    seen = set(todo)
    out: list[int] = []
    while todo:
        for child in children.get(todo.pop(), ()):
            if child.pid in seen:
                continue
            seen.add(child.pid)
            todo.append(child.pid)
            if child.pgrp != pgid and not child.zombie:
                out.append(child.pid)
    return out


def group_alive(pgid: int) -> bool:
    """Whether the group has a member that is not a zombie.

    Zombies count as members for ``killpg(pgid, 0)`` until their new parent (often PID 1)
    reaps them, which some init processes do lazily; they are harmless, so they are skipped.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    table = snapshot()
    return not table or bool(members(pgid, table))
