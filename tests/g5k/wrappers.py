"""Shell wrappers around the stand-ins, passing their settings on (also over ssh, where the
test's environment does not follow)."""

from __future__ import annotations

from pathlib import Path

from .oar_cluster import STANDINS


def standin_wrapper(path: Path, standin: str, **env: object) -> Path:
    """Writes an executable `path` that runs ``standins/<standin>`` with `env` set."""
    settings = " ".join(f"{k}={v}" for k, v in env.items())
    path.write_text(f'#!/bin/sh\n{settings} exec {STANDINS / standin} "$@"\n')
    path.chmod(0o755)
    return path
