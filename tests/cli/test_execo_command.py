"""The ``execo`` console script, end to end against the loopback sshd of the test suite:
``execo run -w 127.0.0.[2-4] ...``, gathering, substitution, exit statuses and failed hosts
named (folded), the three transports, put and get, testbed, and plain-text help."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from execo.testbed import LoopbackSshd

BIN = Path(sys.executable).parent


def execo(sshd: LoopbackSshd | None, *args: str, cwd: Path | None = None):
    login = ["-p", str(sshd.port), "-i", str(sshd.keyfile)] if sshd is not None else []
    argv = [str(BIN / "execo"), *args[:1], *(login if args[:1] != ("testbed",) else []), *args[1:]]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_run_on_a_host_set(sshd: LoopbackSshd) -> None:
    r = execo(sshd, "run", "-w", "127.0.0.[2-4]", "echo hello from {{{host}}}")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == [
        f"127.0.0.{i}: hello from 127.0.0.{i}" for i in (2, 3, 4)
    ]
    assert r.stderr == ""


def test_gathered_output(sshd: LoopbackSshd) -> None:
    r = execo(sshd, "run", "-w", "127.0.0.[2-6]", "-b", "echo {{['a', 'b']}} >/dev/null; uname -s")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "--- 127.0.0.[2-6] (5)\nLinux\n"
    r = execo(sshd, "run", "-w", "127.0.0.[2-5]", "-b", "test {{{host}}} '<' 127.0.0.4 && echo low")
    assert r.stdout == "--- 127.0.0.[2-3] (2)\nlow\n"


def test_failed_hosts_are_named_and_the_status_is_not_zero(sshd: LoopbackSshd) -> None:
    r = execo(
        sshd,
        "run",
        "-w",
        "127.0.0.[2-7]",
        "-x",
        "127.0.0.7",
        "case {{{host}}} in 127.0.0.[45]) exit 3;; 127.0.0.6) exit 5;; esac",
    )
    assert r.returncode == 5  # the largest exit status, as clush does
    lines = r.stderr.splitlines()
    assert lines[0] == "execo run: 3 of 5 failed: 127.0.0.[4-6]"
    assert any(line.startswith("  127.0.0.[4-5]: ") and "exit code 3" in line for line in lines)
    assert any(line.startswith("  127.0.0.6: ") and "exit code 5" in line for line in lines)


def test_unreachable_host(sshd: LoopbackSshd) -> None:
    r = execo(sshd, "run", "-w", "127.0.0.[2-3],127.0.0.250", "true")
    assert r.returncode != 0
    assert "failed: 127.0.0.250" in r.stderr and "unreachable" in r.stderr


@pytest.mark.parametrize("transport", ["ssh", "asyncssh", "taktuk"])
def test_transports_and_timeout(sshd: LoopbackSshd, transport: str) -> None:
    if transport == "taktuk" and shutil.which("taktuk") is None:
        pytest.skip("taktuk not installed")
    r = execo(sshd, "run", "-w", "127.0.0.[2-4]", "--transport", transport, "-b", "echo ok")
    assert (r.returncode, r.stdout) == (0, "--- 127.0.0.[2-4] (3)\nok\n"), r.stderr
    r = execo(sshd, "run", "-w", "127.0.0.[2-3]", "--transport", transport, "-t", "1", "sleep 60")
    assert r.returncode != 0
    assert "failed: 127.0.0.[2-3]" in r.stderr and "timeout" in r.stderr


def test_put_and_get(sshd: LoopbackSshd, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("payload\n")
    r = execo(sshd, "put", "-w", "127.0.0.[2-3]", "f.txt", "cli-put/", cwd=tmp_path)
    assert r.returncode != 0  # the remote directory does not exist: scp says so, per host
    assert "failed: 127.0.0.[2-3]" in r.stderr
    r = execo(sshd, "run", "-w", "127.0.0.2", "mkdir -p cli-put")
    r = execo(sshd, "put", "-w", "127.0.0.[2-3]", "f.txt", "cli-put/", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (sshd.home / "cli-put" / "f.txt").read_text() == "payload\n"
    (tmp_path / "back").mkdir()
    r = execo(sshd, "get", "-w", "127.0.0.[2-3]", "cli-put/f.txt", "back", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "back" / "f.txt").read_text() == "payload\n"


def test_testbed_subcommand(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    r = execo(None, "testbed", "--state-dir", state, "status")
    assert r.returncode == 0 and "no local cluster recorded" in r.stdout
    r = execo(None, "testbed", "--help")
    assert r.stdout.startswith("usage: execo testbed")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "-w", "node-[1-", "true"], "'node-[1-': '[' without ']'"),
        (["run", "-w", "node-1"], "no COMMAND"),
        (["run", "true"], "-w"),
        (["put", "-w", "node-1", "only-one"], "the destination"),
        (["run", "-w", "a", "-x", "a", "true"], "no host left"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_name_the_culprit(args: list[str], message: str) -> None:
    r = execo(None, *args)
    assert r.returncode == 2
    assert message in r.stderr


def test_help_is_plain_text() -> None:
    for argv in (["execo", "--help"], ["execo", "run", "--help"], ["execo-run", "--help"]):
        r = subprocess.run([str(BIN / argv[0]), *argv[1:]], capture_output=True, text=True)
        assert r.returncode == 0
        assert r.stdout.startswith("usage: ")
        for mark in ("``", "::", ":class:", ":func:"):
            assert mark not in r.stdout, (argv, mark)


def test_main_is_callable_in_process(
    sshd: LoopbackSshd, capsys: pytest.CaptureFixture[str]
) -> None:
    from execo.cli import main

    code = main(
        [
            "run",
            "-w",
            "127.0.0.[2-3]",
            "-p",
            str(sshd.port),
            "-i",
            str(sshd.keyfile),
            "-b",
            "echo in-process",
        ]
    )
    assert code == 0
    assert capsys.readouterr().out == "--- 127.0.0.[2-3] (2)\nin-process\n"
    assert os.environ.get("EXECO_CONFIG_FILE") == ""  # the test's clean configuration
