"""A strict checker of OAR 2.5 ``-l`` resource requests (tests only).

    request  := group ("+" group)*
    group    := ["{" sql "}" "/"] ["/"] level ("/" level)*
    level    := name "=" (count | "ALL" | "BEST")

``{sql}`` must be non-empty with balanced quotes and parentheses. This refuses execo
2.8.2's ``{...}/+nodes=N`` (a group with no level) and ``vlan=1+`` (an empty group).
"""

from __future__ import annotations

import re

_LEVEL = re.compile(r"^[a-z_][a-z0-9_]*=(?:[1-9][0-9]*|ALL|BEST)$")


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, quoted, current = [], 0, False, ""
    for ch in text:
        if ch == "'" and depth:
            quoted = not quoted
        elif not quoted and ch == "{":
            depth += 1
        elif not quoted and ch == "}":
            depth -= 1
        if ch == sep and not depth and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def _check_sql(sql: str) -> None:
    if not sql.strip():
        raise ValueError("empty properties")
    if sql.count("'") % 2:
        raise ValueError(f"unbalanced quotes in {sql!r}")
    depth = 0
    for ch in re.sub(r"'[^']*'", "''", sql):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            raise ValueError(f"unbalanced parentheses in {sql!r}")
    if depth:
        raise ValueError(f"unbalanced parentheses in {sql!r}")


def parse_oar_resources(request: str) -> list[tuple[str | None, list[tuple[str, str]]]]:
    """``[(properties or None, [(resource, count)...])...]``; ValueError when invalid."""
    groups = []
    for group in _split_top(request, "+"):
        sql = None
        rest = group
        if group.startswith("{"):
            end = len(_split_top(group, "/")[0])
            if not group[:end].endswith("}"):
                raise ValueError(f"properties not closed in {group!r}")
            sql = group[1 : end - 1]
            _check_sql(sql)
            rest = group[end:]
            if not rest.startswith("/"):
                raise ValueError(f"no '/' after the properties in {group!r}")
        rest = rest.removeprefix("/")
        levels = rest.split("/") if rest else []
        if not levels or not all(_LEVEL.match(level) for level in levels):
            raise ValueError(f"bad resource levels in group {group!r} of {request!r}")
        groups.append((sql, [(level.split("=")[0], level.split("=")[1]) for level in levels]))
    return groups


def node_count(request: str) -> int:
    """The number of nodes asked for (sum of the ``nodes=N`` levels)."""
    return sum(
        int(count)
        for _, levels in parse_oar_resources(request)
        for name, count in levels
        if name == "nodes"
    )
