"""Timelines of processes (matplotlib): one row per process, coloured by status."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from execo import Local, LocalProcessOptions, ParallelActions, Report
from execo._core._process import ProcessStatus
from execo._core._timeline import STATUS_COLORS, draw_timeline


async def _mixed() -> ParallelActions:
    quiet: LocalProcessOptions = {"nolog_exit_code": True, "nolog_timeout": True}
    slow: LocalProcessOptions = {"nolog_timeout": True, "timeout": 0.3}
    actions = ParallelActions(
        [
            Local("sleep 0.2", name="fine"),
            Local("sh -c 'sleep 0.1; exit 2'", process_args=quiet, name="broken"),
            Local("sleep 5", process_args=slow, name="slow"),
        ]
    )
    return await actions.run()


def _rgb(color: str) -> tuple[int, int, int]:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


async def test_timeline_png_has_a_bar_per_status(tmp_path: Path) -> None:
    from matplotlib.image import imread

    actions = await _mixed()
    path = tmp_path / "t.png"
    Report([actions], name="mixed").timeline(path)
    pixels = imread(path)
    colors = {tuple(round(c * 255) for c in px[:3]) for row in pixels for px in row}
    for status in (ProcessStatus.OK, ProcessStatus.FAILED, ProcessStatus.TIMEOUT):
        assert _rgb(STATUS_COLORS[status]) in colors, status
    assert _rgb(STATUS_COLORS[ProcessStatus.KILLED]) not in colors


@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<?xml"), (".pdf", b"%PDF")])
async def test_timeline_format_by_extension(tmp_path: Path, suffix: str, magic: bytes) -> None:
    actions = await _mixed()
    path = draw_timeline(actions.processes, tmp_path / f"t{suffix}")
    assert path.read_bytes().startswith(magic)
    if suffix == ".svg":
        text = path.read_text()
        for name in ("sleep 0.2", "exit 2", "sleep 5"):
            assert name in text  # one labelled row each


def test_unknown_extension_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'\.jpeg'.*\.png, \.svg, \.pdf"):
        Report([Local("true")]).timeline(tmp_path / "t.jpeg")
    assert not (tmp_path / "t.jpeg").exists()


def test_a_timeline_of_nothing_run_yet(tmp_path: Path) -> None:
    path = draw_timeline(Local("true").processes, tmp_path / "empty.png")
    assert path.read_bytes().startswith(b"\x89PNG")


def test_without_matplotlib_the_error_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"execo\[plot\]"):
        Report([Local("true")]).timeline(tmp_path / "t.png")
