"""Engine in-process: hooks in base-to-subclass order, result dir, -c, log level, log file."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import trio
import trio.lowlevel

from execo_engine import Engine, logger

calls: list[str] = []


class Base(Engine):
    def setup_run_name(self) -> None:
        calls.append(f"Base.setup_run_name {self.run_name.split('_')[0]}")
        self.run_name += "_base"

    def init(self) -> None:
        calls.append("Base.init")

    async def run(self) -> None:
        await trio.lowlevel.checkpoint()
        calls.append("Base.run")


class Child(Base):
    def __init__(self) -> None:
        super().__init__()
        self.args_parser.add_argument("--flag", action="store_true")
        self.args_parser.add_argument("words", nargs="*")

    def setup_run_name(self) -> None:
        calls.append("Child.setup_run_name")
        self.run_name += "_child"

    async def init(self) -> None:  # type: ignore[override]
        calls.append("Child.init")

    async def run(self) -> None:
        calls.append(f"Child.run flag={self.args.flag} words={self.args.words}")
        calls.append(f"level={logging.getLevelName(logger.getEffectiveLevel())}")


@pytest.fixture(autouse=True)
def _fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls.clear()
    monkeypatch.chdir(tmp_path)


async def test_hooks_run_base_first_for_each_class_that_defines_them(tmp_path: Path) -> None:
    engine = Child()
    await engine.astart(["--flag", "-l", "DEBUG", "--", "a", "-b"])
    assert calls == [
        "Base.setup_run_name Child",
        "Child.setup_run_name",
        "Base.init",
        "Child.init",
        "Base.run",
        "Child.run flag=True words=['a', '-b']",
        "level=DEBUG",
    ]
    assert re.fullmatch(r"Child_\d{8}_\d{6}_[+-]\d{4}_base_child", engine.run_name)
    assert engine.result_dir == str(tmp_path / engine.run_name)
    assert await trio.Path(engine.result_dir).is_dir()
    assert engine.engine_dir == str(Path(__file__).parent)


async def test_continue_dir_is_made_absolute_and_logs_go_there(tmp_path: Path) -> None:
    level_before = logger.level
    handlers_before = list(logging.getLogger("execo").handlers)
    engine = Child()
    await engine.astart(["-c", "previous/run"])
    assert engine.result_dir == str(tmp_path / "previous" / "run")
    log = (tmp_path / "previous" / "run" / "engine.log").read_text()
    assert f"run in directory {engine.result_dir}" in log
    await Child().astart(["-c", "previous/run"])
    log = (tmp_path / "previous" / "run" / "engine.log").read_text()
    assert log.count("run in directory") == 2  # a continued run appends
    assert logger.level == level_before
    assert logging.getLogger("execo").handlers == handlers_before


async def test_log_level_accepts_numbers_and_refuses_nonsense(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await Child().astart(["-l", "30"])
    assert calls[-1] == "level=WARNING"
    with pytest.raises(SystemExit) as info:
        await Child().astart(["-l", "LOUD"])
    assert info.value.code == 2
    assert "unknown log level 'LOUD'" in capsys.readouterr().err


async def test_copy_and_redirect_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        await Child().astart(["-L", "-R"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_start_runs_under_trio(tmp_path: Path) -> None:
    Child().start(["x"])
    assert "Child.run flag=False words=['x']" in calls


async def test_a_failing_run_still_restores_logging() -> None:
    class Failing(Engine):
        async def run(self) -> None:
            raise RuntimeError("boom")

    handlers_before = list(logging.getLogger("execo").handlers)
    with pytest.raises(RuntimeError, match="boom"):
        await Failing().astart([])
    assert logging.getLogger("execo").handlers == handlers_before
