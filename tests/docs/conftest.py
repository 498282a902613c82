"""The world the documentation's examples run in.

One local cluster (``execo.testbed.LocalCluster``, 4 hosts: netns mode as root, loopback
otherwise) serves every page. Each page then runs in a directory and a ``HOME`` of its own,
with a private testbed state directory, and with a configuration file that points execo at
an ssh configuration naming the cluster's hosts the way the examples do:

* ``node-1`` ... ``node-4``;
* Grid'5000 site frontends (``lyon``, ``nancy``, ``rennes``, ... and
  ``<site>.grid5000.fr``) and ``access.grid5000.fr``, spread over the same hosts.

The page's own ``~/.ssh/config`` and ``~/.execo.conf.py`` (an example may write them) are
read after these entries, so an example's ``ProxyJump`` or ``User`` lines apply, while the
host names still lead to the local hosts (OpenSSH keeps the first value it reads).
The page's namespace starts with ``hosts``: the cluster's hosts (``execo.Host`` objects).
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import os
import select
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from execo import Host
from execo._core import _config
from execo.testbed import LocalCluster

N_HOSTS = 4
SITES = (
    "lyon", "nancy", "rennes", "grenoble", "lille", "luxembourg", "nantes", "sophia",
    "strasbourg", "toulouse",
)  # fmt: skip


@dataclasses.dataclass
class DocsCluster:
    cluster: LocalCluster
    names_config: Path

    @property
    def hosts(self) -> list[Host]:
        return self.cluster.hosts


def names_ssh_config(cluster: LocalCluster, include: str) -> str:
    """ssh_config entries giving the examples' host names to the cluster's hosts."""
    names: dict[int, list[str]] = {i: [node.name] for i, node in enumerate(cluster.nodes)}
    names[0].append("access.grid5000.fr")
    for k, site in enumerate(SITES):
        names[k % len(cluster.nodes)] += [site, f"{site}.grid5000.fr"]
    out = []
    for i, node in enumerate(cluster.nodes):
        out += [
            f"Host {' '.join(names[i])}",
            f"  HostName {node.host.address}",
            f"  Port {node.host.port}",
            f"  User {getpass.getuser()}",
            f"  IdentityFile {cluster.state.keyfile}",
            "  IdentitiesOnly yes",
            "  StrictHostKeyChecking no",
            "  UserKnownHostsFile /dev/null",
            "  LogLevel ERROR",
        ]
    out += ["Host *", f"  Include {include}", ""]
    return "\n".join(out)


@pytest.fixture(scope="session")
def docs_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocsCluster]:
    base = tmp_path_factory.mktemp("docs_cluster")
    cluster = LocalCluster(N_HOSTS, state_dir=base / "state").start()
    try:
        yield DocsCluster(cluster, base / "names_ssh_config")
    finally:
        cluster.stop()


from tests.g5k.oar_cluster import oar_cluster  # noqa: E402, F401  (a session fixture)


@pytest.fixture(scope="session")
def docs_g5k_server() -> Iterator[object]:
    from tests.g5k.g5k_server import FakeG5kApi

    with FakeG5kApi() as server:
        yield server


_HARNESS_CONFIG = """\
# Written by the docs harness (tests/docs/conftest.py): the page's own ~/.execo.conf.py,
# then an ssh configuration that names the local cluster's hosts.
import os as _os
_user = _os.path.expanduser("~/.execo.conf.py")
if _os.path.exists(_user):
    with open(_user) as _f:
        exec(compile(_f.read(), _user, "exec"))
_given = globals().get("default_connection_params", {{}})
default_connection_params = {{"ssh_config": {names!r}, **_given}}
"""


@dataclasses.dataclass
class PageEnv:
    """Where a page runs: its directory, home, environment variables, and set-ups."""

    cwd: Path
    home: Path
    env: dict[str, str]
    hosts: list[Host]
    cleanup: contextlib.ExitStack
    request: pytest.FixtureRequest
    names_config: Path

    def setup(self, name: str, ns: dict[str, object]) -> None:
        """``<!-- harness: NAME -->``: the set-up ``NAME`` of :data:`SETUPS`."""
        if name not in SETUPS:
            raise AssertionError(f"unknown harness set-up {name!r}; known: {sorted(SETUPS)}")
        SETUPS[name](self, ns)


def _serial_console(env: PageEnv, ns: dict[str, object]) -> None:
    """``serial_device``: a pseudo-terminal with a console behind it, which answers a newline
    with ``login: `` and a line ``root`` with ``Password: ``."""
    master, slave = os.openpty()
    stop = threading.Event()

    def console() -> None:
        seen = b""
        while not stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                continue
            try:
                seen += os.read(master, 1024)
            except OSError:
                return
            while b"\n" in seen:
                line, _, seen = seen.partition(b"\n")
                os.write(master, b"Password: " if line.strip() == b"root" else b"login: ")

    thread = threading.Thread(target=console, daemon=True)
    thread.start()

    def close() -> None:
        stop.set()
        thread.join()
        os.close(master)
        os.close(slave)

    env.cleanup.callback(close)
    ns["serial_device"] = os.ttyname(slave)


def _g5k_api(env: PageEnv, ns: dict[str, object]) -> None:
    """The configuration in force points at the test suite's stand-in of the Grid'5000
    API (real reference and status data, ``tests/data/g5k_api``), anonymous."""
    from execo_g5k import config
    from execo_g5k.config import G5kConfiguration

    server = env.request.getfixturevalue("docs_g5k_server")
    previous = config.set_g5k_configuration(
        G5kConfiguration(api_uri=server.root_url, api_cache_dir=str(env.cwd / ".g5k-cache"))
    )
    env.cleanup.callback(config.set_g5k_configuration, previous)


def _oar(env: PageEnv, ns: dict[str, object]) -> None:
    """The test suite's real OAR 2.5 server (root only; else the rest of the page is
    skipped): every site's frontend is ``oartest@127.0.0.1`` (also as ``<site>.g5k``),
    oarsh runs as ``oartest``, OAR is polled every second; the job's nodes (``node-1`` ...)
    are OAR's, so the local cluster's names are dropped."""
    from execo import default_frontend_connection_params, default_oarsh_oarcp_params
    from execo_g5k import config

    if os.geteuid() != 0:
        pytest.skip("the real OAR server of the tests needs root")
    oar = env.request.getfixturevalue("oar_cluster")  # (the page deletes the jobs it makes)
    env.names_config.write_text(
        f"Host *.g5k\n  HostName 127.0.0.1\n  StrictHostKeyChecking no\n"
        f"  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n"
        f"Host *\n  Include {env.home / '.ssh' / 'config'}\n"
    )
    default_frontend_connection_params.update(oar.frontend_params)
    default_oarsh_oarcp_params.update(oar.oarsh_params)
    fast = dataclasses.replace(
        config.current_g5k_configuration(),
        polling_interval=1.0,
        tiny_polling_interval=0.5,
        default_frontend=None,
        default_timeout=120.0,
    )
    env.cleanup.callback(config.set_g5k_configuration, config.set_g5k_configuration(fast))


SETUPS: dict[str, Callable[[PageEnv, dict[str, object]], None]] = {
    "serial-console": _serial_console,
    "g5k-api": _g5k_api,
    "oar": _oar,
}


@pytest.fixture
def page_env(
    docs_cluster: DocsCluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[PageEnv]:
    cwd, home = tmp_path / "work", tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    cwd.mkdir()
    names = tmp_path / "names_ssh_config"
    names.write_text(names_ssh_config(docs_cluster.cluster, str(home / ".ssh" / "config")))
    harness_config = tmp_path / "harness.conf.py"
    harness_config.write_text(_HARNESS_CONFIG.format(names=str(names)))
    venv_bin = str(Path(sys.executable).parent)
    env = {
        "HOME": str(home),
        "EXECO_CONFIG_FILE": str(harness_config),
        "EXECO_TESTBED_STATE_DIR": str(tmp_path / "testbed_state"),
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(cwd)
    _config.reset_configuration()
    _config.configuration["kill_timeout"] = 2.0
    (home / ".profile").write_text("# ~/.profile of the page's home\n")
    with contextlib.ExitStack() as cleanup:
        yield PageEnv(cwd, home, dict(os.environ), docs_cluster.hosts, cleanup, request, names)
