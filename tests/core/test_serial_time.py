"""Serial ports (on a pseudo-terminal standing in for the device) and time helpers."""

import datetime
import os

import pytest
import trio

from execo import (
    Host,
    RemoteSerial,
    Serial,
    SerialSsh,
    Timer,
    format_duration,
    get_seconds,
    get_unixts,
    sleep,
)


@pytest.fixture
def fake_device():
    master, slave = os.openpty()
    os.set_blocking(master, False)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


async def _read_master(master: int, want: bytes) -> bytes:
    got = b""
    with trio.fail_after(10):
        while want not in got:
            await trio.lowlevel.wait_readable(master)
            got += os.read(master, 1024)
    return got


@pytest.mark.parametrize("kind", ["local", "ssh"])
async def test_u5_serial_write_and_expect(fake_device, kind: str, hosts: list[Host]) -> None:
    master, device = fake_device
    port = Serial(device, 115200) if kind == "local" else SerialSsh(hosts[0], device, 115200)
    async with port:
        await trio.sleep(0.3)
        await port.write("root\n")
        await _read_master(master, b"root\n")
        os.write(master, b"Password: ")
        assert await port.expect("Password:", timeout=10)
        await port.kill()


async def test_u7_remote_serial_on_every_host(fake_device, hosts: list[Host]) -> None:
    master, device = fake_device
    rs = RemoteSerial(hosts[:1], device, 9600)
    async with rs:
        await trio.sleep(0.3)
        os.write(master, b"login: ")
        results = await rs.expect("login:", timeout=10)
        assert all(r for _, r in results)
        await rs.kill()


def test_durations_and_dates() -> None:
    assert get_seconds("1:02:03.5") == 3723.5
    assert get_seconds(datetime.timedelta(minutes=2)) == 120
    assert get_seconds("12") == 12
    assert format_duration(3723) == "1h2m3s"
    assert format_duration(90061) == "1d1h1m1s"
    assert get_unixts("2020-01-01T00:00:00Z") == 1577836800
    assert get_unixts("20-01-01T00:00:00+01:00") == 1577833200
    with pytest.raises(ValueError, match="not a duration"):
        get_seconds("soon")


async def test_sleep_and_timer() -> None:
    t = Timer(timeout=10)
    slept = await sleep(0.05)
    assert slept >= 0.05
    await t.wait_elapsed(0.1)
    assert t.elapsed() >= 0.1
    assert 0 < (t.remaining() or 0) < 10
