"""Packaging. Importing the packages has no side effect: no configuration file is read, no
thread or process is started, no logging handler is installed, and ``import execo`` loads
none of the optional dependencies (asyncssh, httpx, rich...) until they are used; nor do
``import execo_g5k`` and ``import execo_engine`` (httpx, keyring, trio load on first use). A
built wheel says and holds what PyPI users need; the README starts with the two set-up commands;
the core works without the extras, and the optional parts name the extra they need."""

from __future__ import annotations

import email
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

PROBE = r"""
import json, os, sys, threading, logging
OPTIONAL = ("asyncssh", "cryptography", "httpx", "httpcore", "keyring", "matplotlib",
            "networkx", "rich", "trio")
before = set(sys.modules)
import execo
loaded = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in OPTIONAL)
import execo_g5k, execo_engine
loaded_g5k = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in OPTIONAL)
print(json.dumps({
    "threads": threading.active_count(),
    "children": len(os.listdir(f"/proc/{os.getpid()}/task")),
    "handlers": len(logging.getLogger().handlers) + len(logging.getLogger("execo").handlers),
    "loaded": loaded,
    "loaded_g5k": loaded_g5k,
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
    assert report["loaded_g5k"] == [], "execo_g5k/execo_engine loaded optional dependencies"
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


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (path,) = out.glob("execo-*.whl")
    return zipfile.ZipFile(path)


def _metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    return email.message_from_bytes(wheel.read(name))


def test_dependencies_are_minimal_with_extras(wheel: zipfile.ZipFile) -> None:
    requires = _metadata(wheel).get_all("Requires-Dist") or []
    core = sorted((r.split(">")[0] for r in requires if "extra ==" not in r), key=str.lower)
    assert core == ["anyio", "clustershell", "rich", "trio"]  # (names normalised)
    extras = _metadata(wheel).get_all("Provides-Extra") or []
    assert set(extras) >= {"asyncssh", "g5k", "plot", "topology", "docs", "all"}
    by_extra = {e: [r for r in requires if f"extra == '{e}'" in r] for e in extras}
    assert any(r.startswith("asyncssh") for r in by_extra["asyncssh"])
    assert {r.split(">")[0] for r in by_extra["g5k"]} == {"httpx", "keyring"}
    assert any(r.startswith("matplotlib") for r in by_extra["plot"])


def test_metadata_for_pypi(wheel: zipfile.ZipFile) -> None:
    meta = _metadata(wheel)
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(urls)
    classifiers = meta.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers
    assert "Framework :: Trio" in classifiers
    assert meta["Description-Content-Type"] == "text/markdown"
    assert str(meta.get_payload()).startswith("# execo")


def test_console_scripts_and_contents(wheel: zipfile.ZipFile) -> None:
    entry = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    scripts = wheel.read(entry).decode()
    assert "execo = execo.cli:main" in scripts
    assert "execo-run = execo_engine._cli:main" in scripts
    names = set(wheel.namelist())
    for package in ("execo", "execo_g5k", "execo_engine"):
        assert f"{package}/py.typed" in names
    assert "execo_g5k/_png.py" not in names  # the hand-written PNG encoder is gone


def test_readme_starts_with_the_two_set_up_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[0] == "# execo"
    first_block = lines[lines.index("```sh") + 1 : lines.index("```")]
    assert [line.split("#")[0].strip() for line in first_block] == [
        "bash scripts/demo.sh",
        "bash scripts/test.sh",
    ]
    assert lines.index("```sh") == 2  # nothing before them but the title
    assert "## Working on execo" in lines  # and a section of their own


def test_the_core_works_without_the_extras() -> None:
    """With asyncssh, matplotlib, httpx, keyring and networkx unimportable, execo and its command
    still work; the optional parts say which extra they need."""
    code = """
import sys
for name in ("matplotlib", "httpx", "keyring", "networkx", "asyncssh"):
    sys.modules[name] = None
import trio, execo
from execo import Local, Report
async def main():
    a = await Local("true").run()
    print(Report([a]).to_string().splitlines()[0].split()[0])
    try:
        Report([a]).timeline("t.png")
    except ImportError as e:
        print(e)
    try:
        execo.Remote("true", "node-1", transport="asyncssh")
    except ImportError as e:
        print(e)
trio.run(main)
try:
    import execo_g5k
except ImportError as e:
    print(e)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "Name"
    assert "pip install 'execo[plot]'" in lines[1]
    assert "pip install 'execo[asyncssh]'" in lines[2]
    assert "pip install 'execo[g5k]'" in lines[3]
