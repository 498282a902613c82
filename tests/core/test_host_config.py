import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from execo import (
    ConfigurationError,
    ConnectionParams,
    Host,
    configuration,
    default_connection_params,
    get_hosts_list,
    get_hosts_set,
    get_unique_hosts_list,
    load_configuration,
    resolve_connection_params,
)
from execo._transports._openssh import ssh_argv


def test_host_is_frozen_hashable_value() -> None:
    h = Host("n-1", user="root", port=22)
    assert h == Host("n-1", user="root", port=22)
    assert len({h, Host("n-1", user="root", port=22)}) == 1
    assert h != Host("n-1")
    with pytest.raises(AttributeError):
        h.address = "x"  # type: ignore[misc]
    assert h.replace(user="u").user == "u"
    assert str(h) == "root@n-1:22"


@pytest.mark.parametrize("bad", ["", "a b", 3])
def test_host_rejects_bad_address(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        Host(bad)  # type: ignore[arg-type]


def test_host_rejects_bad_port() -> None:
    with pytest.raises(ValueError, match="port"):
        Host("a", port=70000)


def test_host_lists() -> None:
    assert get_hosts_list("a") == [Host("a")]
    assert get_hosts_list(["a", Host("b"), "a"]) == [Host("a"), Host("b"), Host("a")]
    assert get_unique_hosts_list(["a", "b", "a"]) == [Host("a"), Host("b")]
    assert get_hosts_set(["a", "a"]) == {Host("a")}


def write_conf(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "execo.conf.py"
    path.write_text(textwrap.dedent(text))
    return path


def test_config_file_is_execo_compatible(tmp_path: Path) -> None:
    path = write_conf(
        tmp_path,
        """
        import logging
        configuration = {"log_level": logging.DEBUG, "kill_timeout": 7}
        default_connection_params = {"user": "alice", "port": 2222}
        g5k_configuration = {"default_frontend": "lyon"}  # another package's: ignored here
        """,
    )
    load_configuration(path)
    assert configuration["kill_timeout"] == 7
    assert configuration["log_level"] == 10
    assert default_connection_params["user"] == "alice"


def test_config_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    path = write_conf(tmp_path, "configuration = {'kill_timout': 3}\n")
    with pytest.raises(
        ConfigurationError, match=r"kill_timout.*execo\.conf\.py|execo\.conf\.py.*kill_timout"
    ):
        load_configuration(path)
    assert configuration["kill_timeout"] == 2.0  # nothing applied


def test_config_bad_value_and_broken_file(tmp_path: Path) -> None:
    path = write_conf(tmp_path, "default_connection_params = {'port': 'ssh'}\n")
    with pytest.raises(ConfigurationError, match="port"):
        load_configuration(path)
    path = write_conf(tmp_path, "configuration = {\n")
    with pytest.raises(ConfigurationError, match=r"execo\.conf\.py"):
        load_configuration(path)


def test_config_file_read_lazily_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from execo._core import _config

    path = write_conf(tmp_path, "configuration = {'compact_output_threshold': 10}\n")
    monkeypatch.setenv("EXECO_CONFIG_FILE", str(path))
    _config.reset_configuration()
    assert configuration["compact_output_threshold"] == 10


def test_setting_unknown_key_fails() -> None:
    with pytest.raises(ConfigurationError, match="remote_tol"):
        configuration["remote_tol"] = "ssh"
    with pytest.raises(ConfigurationError, match="remote_tool"):
        configuration["remote_tool"] = "telnet"
    configuration["remote_tool"] = 2  # execo's TAKTUK constant
    assert configuration["remote_tool"] == "taktuk"


def test_connection_params_layers() -> None:
    default_connection_params["user"] = "base"
    default_connection_params["port"] = 2200
    p = resolve_connection_params()
    assert (p.user, p.port) == ("base", 2200)
    p = resolve_connection_params({"user": "call"})
    assert (p.user, p.port) == ("call", 2200)
    p = resolve_connection_params(ConnectionParams(port=2300), Host("h", user="hostuser"))
    assert (p.user, p.port) == ("hostuser", 2300)
    with pytest.raises(ConfigurationError, match="usr"):
        resolve_connection_params({"usr": "x"})
    with pytest.raises(ConfigurationError, match="connect_timeout"):
        ConnectionParams(connect_timeout="soon")  # type: ignore[arg-type]


def test_ssh_argv_is_batch_and_rewritten() -> None:
    params = resolve_connection_params(
        {"host_rewrite_func": lambda a: a.replace(".grid5000.fr", ".g5k"), "keyfile": "/k"},
        Host("n-1.lyon.grid5000.fr", user="root", port=22),
    )
    argv = ssh_argv(params, "n-1.lyon.grid5000.fr", pty=False)
    assert argv[-1] == "n-1.lyon.g5k"
    assert "BatchMode=yes" in argv
    assert any(a.startswith("ConnectTimeout=") for a in argv)
    assert argv[argv.index("-i") + 1] == "/k"
    assert "User=root" in argv and "Port=22" in argv
    assert "-tt" in ssh_argv(params, "x", pty=True)


def test_host_rewrite_func_must_return_a_name() -> None:
    params = resolve_connection_params({"host_rewrite_func": lambda a: None})
    with pytest.raises(ConfigurationError, match="host_rewrite_func"):
        params.rewritten_address("x")


def test_import_has_no_side_effects(tmp_path: Path) -> None:
    """Importing execo starts no thread and no process, and reads no file."""
    bad = write_conf(tmp_path, "raise SystemExit('read at import!')\n")
    code = textwrap.dedent(
        """
        import os, threading, sys
        import execo, execo_g5k, execo_engine
        assert threading.active_count() == 1, threading.enumerate()
        kids = [l for l in open('/proc/self/task/%d/children' % os.getpid()).read().split()]
        assert not kids, kids
        print("clean")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"EXECO_CONFIG_FILE": str(bad), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert out.stdout.strip() == "clean", out.stderr


def test_frontend_and_oarsh_params_are_overlays(tmp_path: Path) -> None:
    from execo import default_frontend_connection_params, default_oarsh_oarcp_params

    default_connection_params["user"] = "me"
    p = resolve_connection_params(default_frontend_connection_params)
    assert p.pty and p.user == "me"  # only the overlay's keys override
    assert p.rewritten_address("lyon") == "lyon.grid5000.fr"
    o = resolve_connection_params(default_oarsh_oarcp_params)
    assert (o.ssh, o.scp, o.taktuk_connector, o.pty) == ("oarsh", "oarcp", "oarsh", True)
    with pytest.raises(ConfigurationError, match="sssh"):
        default_oarsh_oarcp_params["sssh"] = "ssh"
    del default_frontend_connection_params["pty"]
    assert not resolve_connection_params(default_frontend_connection_params).pty
    # U13: the configuration file overrides them, execo-style
    path = write_conf(
        tmp_path,
        """
        default_frontend_connection_params = {"host_rewrite_func": lambda h: h + ".g5k"}
        default_oarsh_oarcp_params = {"user": "oar", "port": 6667, "ssh": "ssh", "scp": "scp"}
        """,
    )
    load_configuration(path)
    assert default_frontend_connection_params["host_rewrite_func"]("rennes") == "rennes.g5k"
    o = resolve_connection_params(default_oarsh_oarcp_params)
    assert (o.user, o.port, o.ssh, o.pty) == ("oar", 6667, "ssh", True)


def test_execo_submodules_for_old_imports() -> None:
    import importlib

    import execo

    for name in ("config", "host", "process", "action", "report", "time_utils", "substitutions"):
        module = importlib.import_module(f"execo.{name}")
        for public in module.__all__:
            assert getattr(module, public) is getattr(execo, public), (name, public)


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("/tmp/x", "path"),
        ("-oProxyCommand=x", "option"),
        ("../x", "path"),
        ("-oProxyCommand=touch /tmp/pwned", "option"),
        ("a b", "whitespace"),
        ("a\tb", "whitespace"),
        ("a\x00b", "control"),
        ("a\x1b[31m", "control"),
        ("node-[1-3]", "host set"),
        ("a,b", "host set"),
        ("a;reboot", "no host name has"),
        ("$(reboot)", "no host name has"),
        ("@h", "user"),
        ("u@@h", "user"),
        ("h:", "port"),
        ("h:0", "port"),
        ("h:ssh", "port"),
        ("u@h:70000", "port"),
    ],
)
def test_hostile_addresses_are_refused_clearly(bad: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as info:
        Host(bad)
    assert repr(bad) in str(info.value)


def test_user_and_port_are_parsed_from_the_address() -> None:
    assert Host("root@n-1:2222") == Host("n-1", user="root", port=2222)
    assert Host("root@n-1") == Host("n-1", user="root")
    assert Host("n-1:22", port=22) == Host("n-1", port=22)
    assert Host("[fe80::1]:2200") == Host("fe80::1", port=2200)
    assert Host("fe80::1").port is None and Host("fe80::1").address == "fe80::1"
    assert str(Host("fe80::1", port=22)) == "[fe80::1]:22"
    assert str(Host("root@n-1:2222")) == "root@n-1:2222"
    with pytest.raises(ValueError, match="differ"):
        Host("root@n-1", user="other")
    with pytest.raises(ValueError, match="differ"):
        Host("n-1:22", port=23)


def test_scp_gets_an_ipv6_address_in_brackets() -> None:
    from execo._transports._base import CopyRequest
    from execo._transports._openssh import scp_argv

    host = Host("fe80::1")
    request = CopyRequest(
        host=host,
        params=resolve_connection_params(None, host),
        direction="put",
        sources=("a",),
        destination="/tmp",
    )
    assert scp_argv(request)[-1] == "[fe80::1]:/tmp"
