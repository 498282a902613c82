"""The taktuk protocol pieces are pure: records, wait statuses, rank sets, argv, delimiters."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from execo import Host, resolve_connection_params
from execo._transports._taktuk import rank_set
from execo._transports._taktuk_protocol import (
    Record,
    State,
    connector_command,
    decode_wait_status,
    delimiters_for,
    parse_record,
    taktuk_argv,
)


@given(st.binary(max_size=200), st.booleans(), st.integers(1, 10_000))
def test_output_records_round_trip(data: bytes, eol: bool, position: int) -> None:
    line = f"O {position} {int(eol)} {data.hex()}".encode()
    assert parse_record(line) == Record("O", position, data, eol=eol)


def test_state_records_name_the_peer_for_connection_events() -> None:
    assert parse_record(b"T 0 -1 p3 3") == Record("T", 3, code=State.CONNECTION_FAILED)
    assert parse_record(b"T 2 5 p 6") == Record("T", 2, code=6, rank=5)
    assert parse_record(b"T 4 -1 p 0") == Record("T", 4, code=0, rank=None)
    assert parse_record(b"S 7 768") == Record("S", 7, code=768)
    assert parse_record(b"N 0 p9 " + b"refused".hex().encode()) == Record("N", 9, b"refused")
    for junk in (b"", b"hello", b"O x 1 00", b"O 1 1 zz", b"T 1 1 p 1 extra", "é".encode()):
        assert parse_record(junk) is None


def test_wait_status() -> None:
    assert decode_wait_status(0) == (0, None)
    assert decode_wait_status(3 << 8) == (3, None)
    assert decode_wait_status(15) == (None, 15)
    assert decode_wait_status(9 | 0x80) == (None, 9)  # core dumped


def test_rank_set() -> None:
    assert rank_set([3, 1, 2, 7, 9, 10]) == "1-3/7/9-10"
    assert rank_set([5]) == "5"


def test_argv_broadcasts_one_command_and_flattens_mixed_connectors() -> None:
    params = resolve_connection_params()
    a = resolve_connection_params(None, Host("a", port=2222, keyfile="/k 1"))
    b = resolve_connection_params(None, Host("b", user="u"))
    assert "'/k 1'" in connector_command(a) and "Port=2222" in connector_command(a)
    same = taktuk_argv(params, [("a", "ssh"), ("b", "ssh")], ["echo x", "echo x"])
    assert same[-5:] == ["broadcast", "exec", "[", "echo x", "]"]
    assert same.count("-c") == 1 and "-d" not in same
    mixed = taktuk_argv(
        params, [("a", connector_command(a)), ("b", connector_command(b))], ["x 1", "x 2"]
    )
    assert mixed[mixed.index("-d") + 1] == "-1"
    assert mixed.count("-c") == 2
    i = mixed.index("a")
    assert mixed[i - 1 : i + 8] == ["-m", "a", "-[", "exec", "[", "x 1", "]", "-]", "-c"]
    assert mixed[-8:] == ["-m", "b", "-[", "exec", "[", "x 2", "]", "-]"]
    with pytest.raises(ValueError, match="command line would be"):
        hosts = [(f"h{i}", "ssh") for i in range(30_000)]
        taktuk_argv(params, hosts, [f"c{i}" * 20 for i in range(30_000)])


def test_delimiters() -> None:
    assert delimiters_for("a b", "/x") == ("[", "]")
    assert delimiters_for("a ] b") == ("{", "}")
    with pytest.raises(ValueError, match="newline"):
        delimiters_for("a\nb")
