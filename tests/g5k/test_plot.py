"""The planning picture: a real PNG with free and busy rows."""

from __future__ import annotations

import struct
import zlib

from execo_g5k.planning import draw_planning, get_planning, planning_png

NOW = 1774256400
GREEN, RED = (92, 184, 92), (217, 83, 79)


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, RGB rows) of a PNG written with filter 0 on every row."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        if kind == b"IHDR":
            width, height, depth, color_type = struct.unpack(">IIBB", body[:10])
            assert (depth, color_type) == (8, 2)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 3 + 1
    rows = [raw[y * stride : (y + 1) * stride] for y in range(height)]
    assert all(row[0] == 0 for row in rows)
    return width, height, [row[1:] for row in rows]


def _colors(rows: list[bytes]) -> set[tuple[int, int, int]]:
    return {(row[i], row[i + 1], row[i + 2]) for row in rows for i in range(0, len(row), 3)}


async def test_planning_picture(api, tmp_path):
    planning = await get_planning(starttime=NOW, endtime=NOW + 24 * 3600, vlan=True, api=api)
    path = draw_planning(planning, tmp_path / "planning.png", width=900)
    width, height, rows = decode_png(path.read_bytes())
    assert width == 900
    assert 300 < height < 2000
    colors = _colors(rows)
    assert {GREEN, RED} <= colors
    # Only lyon's nova rows: nova-1, 4, 5, 6 and 7 are busy first, the others free.
    nova = await get_planning(["nova"], starttime=NOW, endtime=NOW + 3600, api=api)
    _, _, nova_rows = decode_png(planning_png(nova))
    red_rows = [row for row in nova_rows if bytes(RED) * 20 in row]
    green_rows = [row for row in nova_rows if bytes(GREEN) * 200 in row]
    # 19 hosts, 6 pixel rows each (a 5-pixel bar): 5 hosts start busy (nova-7 only until
    # 10:51, too short for 200 green pixels), 14 are free all along.
    assert (len(red_rows), len(green_rows)) == (5 * 5, 14 * 5)
