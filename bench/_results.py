"""Writes one benchmark's section of bench/RESULTS.md, leaving the other sections alone."""

from __future__ import annotations

import datetime
import platform
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_section(title: str, body: str) -> None:
    """Replace (or append) the section ``## title`` of RESULTS.md with ``body``."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = f"## {title}\n\n_Run {stamp} on {machine()}._\n\n{body.strip()}\n"
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line == f"## {title}"), None)
    if start is None:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        rest = "\n".join(lines[end:])
        text = "\n".join(lines[:start]) + "\n" + section + ("\n" + rest if rest else "")
    RESULTS.write_text(text.rstrip("\n") + "\n")
