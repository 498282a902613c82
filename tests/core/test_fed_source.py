"""FedSource, the stream that push-based transports (asyncssh, taktuk) feed: read by a pump
task, or pushed to a subscribed consumer with no task at all."""

from __future__ import annotations

import trio

from execo._core._channel import FedSource


async def test_read_joins_chunks_and_ends_with_empty_bytes() -> None:
    src = FedSource()
    src.feed(b"a")
    src.feed(b"b")
    assert await src.read() == b"ab"
    async with trio.open_nursery() as nursery:
        got: list[bytes] = []

        async def reader() -> None:
            got.append(await src.read())
            got.append(await src.read())

        nursery.start_soon(reader)
        await trio.sleep(0.01)
        src.feed(b"c")
        await trio.sleep(0.01)
        src.close()
    assert got == [b"c", b""]


def test_subscribe_hands_over_what_came_first_then_pushes_each_chunk() -> None:
    src = FedSource()
    src.feed(b"early ")
    seen: list[bytes] = []
    src.subscribe(seen.append)
    src.feed(b"one")
    src.feed(b"")  # nothing: not an end of stream
    src.feed(b"two")
    src.close()
    src.close()  # the end is pushed once
    src.feed(b"after the end")
    assert seen == [b"early ", b"one", b"two", b""]


def test_a_source_ended_before_the_subscription_pushes_its_end() -> None:
    src = FedSource()
    src.feed(b"x")
    src.close()
    seen: list[bytes] = []
    src.subscribe(seen.append)
    assert seen == [b"x", b""]


def test_unsubscribe_stops_the_flow() -> None:
    src = FedSource()
    seen: list[bytes] = []
    src.subscribe(seen.append)
    src.feed(b"a")
    src.unsubscribe()
    src.feed(b"b")
    src.close()
    assert seen == [b"a"]
