"""taktuk's connector reads the ssh configuration file execo is told to use (-F), as ssh
and scp do: host names that only the file knows reach their hosts."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from execo import TaktukRemote, resolve_connection_params
from execo._transports._taktuk_protocol import connector_command
from execo.testbed import LoopbackSshd

pytestmark = pytest.mark.skipif(shutil.which("taktuk") is None, reason="taktuk not installed")


def test_connector_gets_the_file_only_when_not_the_default(tmp_path: Path) -> None:
    assert " -F " not in connector_command(resolve_connection_params())
    params = resolve_connection_params({"ssh_config": str(tmp_path / "cfg")})
    assert connector_command(params).startswith(f"ssh -F {tmp_path / 'cfg'} ")
    oarsh = dataclasses.replace(params, taktuk_connector="oarsh")
    assert " -F " not in connector_command(oarsh)  # oarsh has its own configuration


async def test_aliases_of_the_file_reach_their_hosts(sshd: LoopbackSshd, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(
        "".join(
            f"Host alias-{i}\n  HostName {a}\n  Port {sshd.port}\n  IdentityFile {sshd.keyfile}\n"
            "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
            for i, a in enumerate(sshd.addresses[:3])
        )
    )
    r = await TaktukRemote(
        "echo $TAKTUK_RANK", "alias-[0-2]", connection_params={"ssh_config": str(config)}
    ).run()
    assert r.ok, [p.failure_summary() for p in r.processes]
    assert len(r.processes) == 3
