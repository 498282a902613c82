"""Importing the packages has no side effect: no configuration file is read, no thread or
process is started, no logging handler is installed, and ``import execo`` loads none of the
optional dependencies (asyncssh, httpx, rich...) until they are used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import json, os, sys, threading, logging
before = set(sys.modules)
import execo
loaded = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in
                ("asyncssh", "cryptography", "httpx", "keyring", "matplotlib", "networkx", "rich"))
import execo_g5k, execo_engine
print(json.dumps({
    "threads": threading.active_count(),
    "children": len(os.listdir(f"/proc/{os.getpid()}/task")),
    "handlers": len(logging.getLogger().handlers) + len(logging.getLogger("execo").handlers),
    "loaded": loaded,
    "version": execo.__version__,
    "docs": bool(execo_g5k.__doc__ and execo_engine.__doc__),
}))
"""


def test_packages_import_without_side_effects(tmp_path: Path) -> None:
    marker = tmp_path / "config-was-read"
    config = tmp_path / "execo.conf.py"
    config.write_text(f"open({str(marker)!r}, 'w').write('read')\n")
    run = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        env={"EXECO_CONFIG_FILE": str(config), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    report = json.loads(run.stdout)
    assert report["version"] and report["docs"]
    assert not marker.exists(), "importing read the configuration file"
    assert report["threads"] == 1 and report["children"] == 1
    assert report["handlers"] == 0
    assert report["loaded"] == [], "optional dependencies loaded at import"
    assert run.stderr == ""


def test_the_configuration_is_read_on_first_use(tmp_path: Path) -> None:
    marker = tmp_path / "config-was-read"
    config = tmp_path / "execo.conf.py"
    config.write_text(f"open({str(marker)!r}, 'w').write('read')\n")
    code = "import execo; print(execo.configuration['kill_timeout'])"
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        env={"EXECO_CONFIG_FILE": str(config), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert marker.read_text() == "read"
