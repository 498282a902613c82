"""execo-run as a real subprocess: loading, arguments, outputs, exit status, errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

EXECO_RUN = str(Path(sys.executable).with_name("execo-run"))

HELLO = """
    import sys
    from execo_engine import Engine, logger

    class Hello(Engine):
        def __init__(self) -> None:
            super().__init__()
            self.args_parser.add_argument("--greeting", default="hello")
            self.args_parser.add_argument("words", nargs="*")

        async def run(self) -> None:
            print(self.args.greeting, *self.args.words)
            print("to stderr", file=sys.stderr)
            logger.info("result dir is %s", self.result_dir)
            if self.args.greeting == "fail":
                raise RuntimeError("asked to fail")

    class NotAnEngine:
        pass
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "Hello.py").write_text(textwrap.dedent(HELLO))
    return tmp_path


def execo_run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXECO_RUN, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )


def _result_dir(cwd: Path) -> Path:
    (found,) = cwd.glob("Hello_*")
    return found


def test_runs_the_engine_named_after_its_file(workdir: Path) -> None:
    r = execo_run(workdir, "Hello", "--greeting", "hi", "--", "a", "-b")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hi a -b\n"
    assert "to stderr" in r.stderr
    result_dir = _result_dir(workdir)
    assert f"result dir is {result_dir}" in r.stderr
    assert f"result dir is {result_dir}" in (result_dir / "engine.log").read_text()


def test_copy_outputs_shows_and_keeps(workdir: Path) -> None:
    r = execo_run(workdir, "Hello", "-L", "x")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello x\n"
    result_dir = _result_dir(workdir)
    assert (result_dir / "stdout").read_text() == "hello x\n"
    stderr_file = (result_dir / "stderr").read_text()
    assert "to stderr" in stderr_file
    assert "result dir is" in stderr_file


def test_redirect_merged_outputs(workdir: Path) -> None:
    r = execo_run(workdir, "Hello", "-R", "-M", "y")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert r.stderr == ""
    merged = (_result_dir(workdir) / "stdout+stderr").read_text()
    assert "hello y\n" in merged
    assert "to stderr" in merged


def test_path_and_class_forms(workdir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = execo_run(elsewhere, str(workdir / "Hello.py") + ":Hello", "p")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello p\n"
    r = execo_run(elsewhere, "Hello:Hello", "m", PYTHONPATH=str(workdir))  # a module
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello m\n"
    r = subprocess.run(
        [sys.executable, "-m", "execo_engine", "Hello", "z"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (r.returncode, r.stdout) == (0, "hello z\n")


def test_engine_failure_exits_1_with_traceback(workdir: Path) -> None:
    r = execo_run(workdir, "Hello", "--greeting", "fail")
    assert r.returncode == 1
    assert "RuntimeError: asked to fail" in r.stderr
    assert "execo-run: error: engine Hello failed" in r.stderr


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("Nope", "no file 'Nope.py' in"),
        ("missing/Nope.py", "engine file 'missing/Nope.py' not found"),
        ("Hello:Other", "defines no class 'Other'; Engine subclasses there: Hello"),
        ("Hello:NotAnEngine", "Hello.NotAnEngine is not an Engine subclass"),
    ],
)
def test_loading_errors_exit_2_with_a_clear_message(workdir: Path, spec: str, message: str) -> None:
    r = execo_run(workdir, spec)
    assert r.returncode == 2
    assert r.stderr.startswith("execo-run: error: ")
    assert message in r.stderr


def test_usage(workdir: Path) -> None:
    r = execo_run(workdir)
    assert r.returncode == 2
    assert r.stderr.startswith("usage: execo-run ENGINE")
    r = execo_run(workdir, "--help")
    assert r.returncode == 0
    assert "Exit status" in r.stdout
    r = execo_run(workdir, "Hello", "--bogus")
    assert r.returncode == 2
    assert "usage: execo-run Hello [options] <arguments>" in r.stderr
