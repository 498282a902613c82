"""Secrets never reach logs, reprs or exceptions: a key passphrase given to the asyncssh
transport, used for real (right and wrong), shows nowhere but where it is used."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from execo import (
    ConnectionParams,
    ProcessStatus,
    Secret,
    SshProcess,
    resolve_connection_params,
)
from execo.testbed import LoopbackSshd

PASSPHRASE = "correct-horse-b4ttery"


@pytest.fixture
def encrypted_key(sshd: LoopbackSshd, tmp_path: Path) -> Iterator[Path]:
    key = tmp_path / "id_encrypted"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", PASSPHRASE, "-f", str(key)], check=True
    )
    authorized = sshd.workdir / "authorized_keys"
    before = authorized.read_text()
    authorized.write_text(before + key.with_suffix(".pub").read_text())
    yield key
    authorized.write_text(before)


def leaked(text: str) -> bool:
    return PASSPHRASE in text


async def test_a_key_passphrase_is_used_and_never_shown(
    sshd: LoopbackSshd, encrypted_key: Path, caplog: pytest.LogCaptureFixture
) -> None:
    host = sshd.hosts[0].replace(keyfile=None)
    params = ConnectionParams(keyfile=str(encrypted_key), keyfile_passphrase=PASSPHRASE)
    with caplog.at_level(logging.DEBUG):
        ok = await SshProcess("echo in", host, transport="asyncssh", connection_params=params).run()
        wrong = ConnectionParams(keyfile=str(encrypted_key), keyfile_passphrase="not-it")
        bad = await SshProcess("true", host, transport="asyncssh", connection_params=wrong).run()
    assert ok.stdout == "in\n" and ok.ok
    assert bad.status == ProcessStatus.UNREACHABLE and "key" in (bad.error_reason or "")
    effective = resolve_connection_params(params, host)
    shown = [
        repr(params),
        str(params),
        repr(effective),
        repr(ok),
        str(ok),
        ok.dump(),
        bad.dump(),
        repr(ok.request()),
        caplog.text,
    ]
    assert not any(leaked(text) for text in shown), [t for t in shown if leaked(t)]
    assert isinstance(effective.keyfile_passphrase, Secret)
    assert effective.keyfile_passphrase.reveal() == PASSPHRASE
    assert str(effective.keyfile_passphrase) == "<hidden>"
    with pytest.raises(TypeError, match="not pickled"):
        import pickle

        pickle.dumps(effective.keyfile_passphrase)
