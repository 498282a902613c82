"""The non-root fallback, run for real as an unprivileged user (created for the test as root).

The project's virtualenv interpreter may live where that user cannot go (pyenv under /root):
then a system interpreter of the same minor version runs the script with the sources and
the virtualenv's packages on PYTHONPATH (nothing is copied). If neither can import execo
as that user, the test is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import execo

SCRIPT = """
import json, os, sys, trio
from execo import SshProcess
from execo.testbed import LocalCluster, NotSupportedError, default_state_dir, list_states

async def main():
    out = {"euid": os.geteuid(), "state_dir": str(default_state_dir()), "python": sys.executable}
    async with LocalCluster(3) as cluster:
        procs = [SshProcess("id -un; echo $HOME", h) for h in cluster.hosts]
        async with trio.open_nursery() as nursery:
            for p in procs:
                nursery.start_soon(p.run)
        out.update(mode=cluster.mode, ok=[p.ok for p in procs], stdout=[p.stdout for p in procs])
        out["workdir"] = str(cluster.workdir)
        try:
            await cluster.take_down(cluster.hosts[0])
        except NotSupportedError as e:
            out["take_down"] = str(e)
        await cluster.kill_sshd(cluster.hosts[1])
        await cluster.restart_sshd(cluster.hosts[1])
    out["states_after"] = len(list_states(default_state_dir()))
    out["workdir_after"] = os.path.exists(out["workdir"])
    print(json.dumps(out))

trio.run(main)
"""


class User:
    def __init__(self, name: str, home: Path) -> None:
        self.name = name
        self.home = home
        self.uid = int(subprocess.run(["id", "-u", name], capture_output=True, text=True).stdout)

    def run(self, argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        base_env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(self.home)}
        env_args = [f"{k}={v}" for k, v in {**base_env, **env}.items()]
        return subprocess.run(
            ["runuser", "-u", self.name, "--", "env", "-i", *env_args, *argv],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.home,
        )

    def processes(self) -> list[str]:
        """The user's live processes (zombies, awaiting init's reaping, are gone)."""
        ps = ["ps", "-o", "pid=,stat=,args=", "-u", self.name]
        out = subprocess.run(ps, capture_output=True, text=True).stdout
        return [line for line in out.splitlines() if not line.split()[1].startswith("Z")]


@pytest.fixture
def unprivileged_user() -> Iterator[User]:
    if os.geteuid() != 0:
        pytest.skip("not root: the whole suite already runs unprivileged")
    if shutil.which("useradd") is None or shutil.which("runuser") is None:
        pytest.skip("useradd/runuser not available")
    name = f"execo-tb-{secrets.token_hex(3)}"
    subprocess.run(
        ["useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/bin/sh", name],
        check=True,
    )
    home = Path(tempfile.mkdtemp(prefix="execo-tb-home-"))
    user = User(name, home)
    try:
        shutil.chown(home, user=name)
        yield user
    finally:
        for line in user.processes():  # only if the test failed half-way
            subprocess.run(["kill", "-KILL", line.split()[0]], check=False)
        subprocess.run(["userdel", name], check=False)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(f"/tmp/execo-testbed-{user.uid}", ignore_errors=True)


def find_interpreter(user: User) -> tuple[str, dict[str, str]]:
    """An interpreter that can import execo as ``user``, and the environment it needs."""
    src = str(Path(execo.__file__).resolve().parents[1])
    site = sysconfig.get_paths()["purelib"]
    candidates = [
        (sys.executable, {}),
        ("/usr/bin/python3", {"PYTHONPATH": f"{src}:{site}"}),
    ]
    reasons = []
    for python, env in candidates:
        probe = user.run([python, "-c", "import sys, execo.testbed, trio; print(sys.version)"], env)
        if probe.returncode == 0 and probe.stdout.startswith(
            f"{sys.version_info[0]}.{sys.version_info[1]}"
        ):
            return python, env
        reasons.append(f"{python}: {(probe.stderr or probe.stdout).strip()[-200:]}")
    pytest.skip(f"no interpreter can import execo as {user.name}: {'; '.join(reasons)}")


def test_unprivileged_user_gets_a_loopback_cluster(unprivileged_user: User) -> None:
    user = unprivileged_user
    python, env = find_interpreter(user)
    script = user.home / "script.py"
    script.write_text(SCRIPT)
    done = user.run([python, str(script)], env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    print("interpreter used:", out["python"])
    assert out["euid"] == user.uid and out["mode"] == "loopback"
    assert out["state_dir"] == f"/tmp/execo-testbed-{user.uid}"
    assert out["ok"] == [True, True, True]
    assert [s.split()[0] for s in out["stdout"]] == [user.name] * 3
    assert len({s.split()[1] for s in out["stdout"]}) == 3, "one HOME per host"
    assert "netns mode" in out["take_down"]
    assert out["states_after"] == 0 and not out["workdir_after"]
    deadline = time.monotonic() + 5  # a remote watchdog takes a moment to see its session end
    while user.processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert user.processes() == [], "the cluster left processes behind"
