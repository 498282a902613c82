"""The planning picture (matplotlib): a row per host, labelled; free and busy; a "now" line
and a legend; PNG, SVG or PDF by the file's extension."""

from __future__ import annotations

from pathlib import Path

import pytest

from execo_g5k._plot import BUSY, FREE, planning_figure
from execo_g5k.planning import draw_planning, get_planning, planning_png

NOW = 1774256400


def _busy_rows(figure) -> set[str]:
    """The labels of the rows that have a busy interval."""
    from matplotlib.colors import to_hex

    ax = figure.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    rows = set()
    for collection in ax.collections:
        if to_hex(collection.get_facecolor()[0]) != BUSY:
            continue
        for path in collection.get_paths():
            rows.add(labels[round(path.vertices[:, 1].mean())])
    return rows


def _legend(ax):
    legend = ax.get_legend()
    assert legend is not None
    return legend


async def test_planning_rows_labels_and_colours(api) -> None:
    nova = await get_planning(["nova"], starttime=NOW, endtime=NOW + 3600, api=api)
    figure = planning_figure(nova, now=NOW + 600)
    ax = figure.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # One labelled row per host, naturally sorted (nova-2, 3 and 20 are dead in the data).
    assert labels == [f"nova-{i}" for i in (1, *range(4, 20), 21, 22)]
    # nova-1, 4, 5, 6 and 7 are busy at first, the others free all along.
    assert _busy_rows(figure) == {"nova-1", "nova-4", "nova-5", "nova-6", "nova-7"}
    legend = [t.get_text() for t in _legend(ax).get_texts()]
    assert legend == ["free", "busy", "now"]
    assert figure.get_suptitle().startswith("Grid'5000 planning from 2026-")
    later = planning_figure(nova, now=NOW + 7200)  # "now" outside the planning: no line
    assert [t.get_text() for t in _legend(later.axes[0]).get_texts()] == ["free", "busy"]


async def test_planning_picture_formats(api, tmp_path: Path) -> None:
    planning = await get_planning(starttime=NOW, endtime=NOW + 24 * 3600, vlan=True, api=api)
    png = draw_planning(planning, tmp_path / "planning.png", now=NOW + 3600)
    assert png.read_bytes().startswith(b"\x89PNG")
    from matplotlib.image import imread

    pixels = imread(png)
    colors = {tuple(round(c * 255) for c in px[:3]) for row in pixels[::4] for px in row}
    for hex_color in (FREE, BUSY):
        assert tuple(int(hex_color[i : i + 2], 16) for i in (1, 3, 5)) in colors
    svg = draw_planning(planning, tmp_path / "planning.svg", title="My planning").read_text()
    assert "My planning" in svg and "nova-19" in svg and "kavlan-" in svg
    assert draw_planning(planning, tmp_path / "p.pdf").read_bytes().startswith(b"%PDF")
    assert planning_png(planning).startswith(b"\x89PNG")
    with pytest.raises(ValueError, match=r"'\.gif'"):
        draw_planning(planning, tmp_path / "p.gif")
