"""Host sets (ClusterShell's notation) in, folded host lists out.

A host set string is accepted wherever a host list is, since every action builds its hosts
with ``get_hosts_list``; a plain host name or address always stays exactly itself.
"""

from __future__ import annotations

import ipaddress
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from execo import (
    Get,
    Host,
    ProcessesFailed,
    Put,
    Remote,
    TaktukGet,
    TaktukPut,
    TaktukRemote,
    expand_hosts,
    fold_hosts,
    format_gathered,
    gather_outputs,
    get_hosts_list,
    get_unique_hosts_list,
)
from execo.testbed import LoopbackSshd


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("node-[1-3]", ["node-1", "node-2", "node-3"]),
        ("node-[01-03]", ["node-01", "node-02", "node-03"]),
        ("node-[3,1]", ["node-1", "node-3"]),
        ("127.0.0.[2-4]", ["127.0.0.2", "127.0.0.3", "127.0.0.4"]),
        ("10.0.[0-1].[1-2]", ["10.0.0.1", "10.0.0.2", "10.0.1.1", "10.0.1.2"]),
        ("node-[1-2],frontend", ["node-1", "node-2", "frontend"]),
        ("b,a,b", ["b", "a", "b"]),  # pieces keep their order, duplicates kept
        ("node-[1-4]!node-2", ["node-1", "node-3", "node-4"]),
        ("[::1]", ["[::1]"]),
        ("[fe80::1%eth0]", ["[fe80::1%eth0]"]),
    ],
)
def test_expand(text: str, names: list[str]) -> None:
    assert expand_hosts(text) == names
    # A Host takes a bracketed IPv6 address without its brackets.
    assert [h.address for h in get_hosts_list(text)] == [n.strip("[]") for n in names]


@pytest.mark.parametrize(
    ("text", "culprit"),
    [
        ("node-[1-", "'\\[' without '\\]'"),
        ("node-1]", "'\\]' without '\\['"),
        ("a,,b", "empty name"),
        ("node-[3-1]", "bad range"),
        ("node-[a-b]", "node-\\[a-b\\]"),
    ],
)
def test_bad_host_sets_name_the_culprit(text: str, culprit: str) -> None:
    with pytest.raises(ValueError, match=culprit):
        get_hosts_list(text)


def test_non_hosts_are_refused_by_name() -> None:
    with pytest.raises(TypeError, match="42"):
        get_hosts_list(["node-1", 42])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="42"):
        get_hosts_list(42)  # type: ignore[arg-type]


def test_a_single_host_is_one_host() -> None:
    assert Host.of("node-[7]") == Host("node-7")
    with pytest.raises(ValueError, match="names 3"):
        Host.of("node-[1-3]")


_label = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_hostname = st.lists(_label, min_size=1, max_size=4).map(".".join)
_ipv4 = st.ip_addresses(v=4).map(str)
_ipv6 = st.ip_addresses(v=6).map(str)


@given(st.one_of(_hostname, _ipv4, _ipv6))
def test_a_plain_name_or_address_stays_itself(name: str) -> None:
    assert expand_hosts(name) == [name]
    assert get_hosts_list(name) == [Host(name)]
    assert get_hosts_list([name, Host(name)]) == [Host(name), Host(name)]
    assert fold_hosts([name]) == name


@given(
    st.lists(
        st.tuples(st.sampled_from(["node-", "gros-", "n", "10.0.0."]), st.integers(0, 300)),
        min_size=1,
        max_size=40,
    )
)
def test_folding_then_expanding_gives_the_same_hosts(parts: list[tuple[str, int]]) -> None:
    names = [f"{prefix}{i}" for prefix, i in parts]
    folded = fold_hosts([Host(n) for n in names])
    assert sorted(set(expand_hosts(folded))) == sorted(set(names))


def test_fold() -> None:
    hosts = get_hosts_list("node-[1-3],node-7,10.0.0.1,10.0.0.2")
    assert fold_hosts(hosts) == "10.0.0.[1-2],node-[1-3,7]"
    assert fold_hosts([Host("node-2", port=22), "node-1", None]) == "node-[1-2]"
    assert fold_hosts([]) == ""
    assert fold_hosts(["fe80::1", "fe80::2"]) == "fe80::1,fe80::2"  # not folded, kept
    assert str(ipaddress.ip_address("fe80::1")) == "fe80::1"


def _params(sshd: LoopbackSshd) -> dict[str, object]:
    return {"port": sshd.port, "keyfile": str(sshd.keyfile)}


async def test_remote_takes_a_host_set_and_folds_its_output(sshd: LoopbackSshd) -> None:
    r = await Remote("echo same", "127.0.0.[2-4]", connection_params=_params(sshd)).run()
    assert [h.address for h in r.hosts] == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    assert r.ok
    assert format_gathered(gather_outputs(r.processes)) == "--- 127.0.0.[2-4] (3)\nsame"


async def test_processes_failed_folds_the_hosts(sshd: LoopbackSshd) -> None:
    r = await Remote("false", "127.0.0.[2-5]", connection_params=_params(sshd)).run()
    with pytest.raises(ProcessesFailed) as info:
        r.raise_for_error()
    assert str(info.value).startswith("4 processes failed on 127.0.0.[2-5]:")
    assert info.value.hosts == get_hosts_list("127.0.0.[2-5]")


async def test_put_and_get_take_host_sets(sshd: LoopbackSshd, tmp_path: Path) -> None:
    src = tmp_path / "f.txt"
    src.write_text("payload\n")
    params = _params(sshd)
    put = await Put("127.0.0.[2-3]", [str(src)], "/tmp/", connection_params=params).run()
    assert put.ok and len(put.processes) == 2
    dest = tmp_path / "back"
    dest.mkdir()
    get = Get("127.0.0.[2-3]", ["/tmp/f.txt"], str(dest), connection_params=params)
    assert [h.address for h in get.hosts] == ["127.0.0.2", "127.0.0.3"]
    assert (await get.run()).ok


@pytest.mark.skipif(shutil.which("taktuk") is None, reason="taktuk not installed")
async def test_taktuk_actions_take_host_sets(sshd: LoopbackSshd, tmp_path: Path) -> None:
    params = _params(sshd)
    r = await TaktukRemote("echo hi", "127.0.0.[2-4]", connection_params=params).run()
    assert r.ok and [p.stdout for p in r.processes] == ["hi\n"] * 3
    src = tmp_path / "t.txt"
    src.write_text("x")
    assert len(TaktukPut("127.0.0.[2-4]", [str(src)], "/tmp/").processes) == 3
    assert len(TaktukGet("127.0.0.[2-4]", ["/tmp/t.txt"], str(tmp_path)).processes) == 3


def test_unique_hosts_of_overlapping_sets() -> None:
    assert get_unique_hosts_list(["node-[1-3]", "node-[2-4]"]) == get_hosts_list("node-[1-4]")
