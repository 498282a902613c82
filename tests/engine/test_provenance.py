"""Engine provenance (``provenance.json``) and results (``results.jsonl``, export), with the
real ``execo-run`` in subprocesses and an engine file in a real git repository."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from execo_engine import (
    EngineError,
    ParamSweeper,
    export_results,
    read_results,
    sweep,
)

EXECO_RUN = str(Path(sys.executable).with_name("execo-run"))

SWEEP_ENGINE = """
    import os
    from execo_engine import Engine, ParamSweeper, sweep

    class Sweep(Engine):
        def __init__(self) -> None:
            super().__init__()
            self.args_parser.add_argument("--stop-after", type=int, default=None)
            self.args_parser.add_argument("--fail", action="store_true")

        async def run(self) -> None:
            if self.args.fail:
                raise RuntimeError("asked to fail")
            combs = sweep({"size": [10, 100, 1000], "algo": ["a", "b"]})
            with ParamSweeper(os.path.join(self.result_dir, "sweeper"), combs) as sweeper:
                done = 0
                while (comb := sweeper.get_next()) is not None:
                    if comb["size"] == 1000 and comb["algo"] == "b":
                        sweeper.skip(comb)  # a failed measure: no result
                        continue
                    self.attach_result(comb, {"time": comb["size"] / 10, "tags": [comb["algo"]]})
                    sweeper.done(comb)
                    done += 1
                    if done == self.args.stop_after:
                        return
                self.export_results(sweeper, os.path.join(self.result_dir, "results.csv"),
                                    format="csv")
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding the engine file, committed."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Sweep.py").write_text(textwrap.dedent(SWEEP_ENGINE))
    git(repo, "init", "-q")
    git(repo, "add", "Sweep.py")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "x")
    return repo


def execo_run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXECO_RUN, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def provenance(result_dir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((result_dir / "provenance.json").read_text())
    return document


def test_a_run_records_what_it_ran_on_and_continuing_appends(repo: Path) -> None:
    first = execo_run(repo, "Sweep.py", "--stop-after", "2")
    assert first.returncode == 0, first.stderr
    (result_dir,) = repo.glob("Sweep_*")
    doc = provenance(result_dir)
    assert doc["format"] == 1 and doc["engine"] == "Sweep"
    (run,) = doc["runs"]
    assert run["run"] == 1 and run["status"] == "ok" and run["exit_code"] == 0
    assert run["error"] is None and run["continued"] is False
    assert run["start_ts"] <= run["end_ts"] and run["start"].endswith("+00:00")
    assert run["host"] == socket.gethostname() and run["pid"] != os.getpid()
    assert run["python"]["version"] == platform.python_version()
    assert run["versions"]["execo"] and run["versions"]["trio"] and run["versions"]["anyio"]
    assert set(run["versions"]) >= {"asyncssh", "httpx", "networkx", "matplotlib"}
    engine_file = repo / "Sweep.py"
    assert run["engine_file"] == str(engine_file)
    assert run["engine_sha256"] == hashlib.sha256(engine_file.read_bytes()).hexdigest()
    assert run["git"] == {"commit": git(repo, "rev-parse", "HEAD"), "dirty": False,
                          "root": str(repo), "tracked": True}  # fmt: skip
    assert run["command_line"][0] == EXECO_RUN and run["command_line"][1:] == [
        "Sweep.py", "--stop-after", "2",
    ]  # fmt: skip
    assert run["engine_args"] == ["--stop-after", "2"] and run["result_dir"] == str(result_dir)
    assert shlex.join(run["command_line"])  # a command line one can paste

    # Change the engine (the work tree is dirty now) and continue with -c: a second entry.
    engine_file.write_text(engine_file.read_text() + "\n# tuned\n")
    second = execo_run(repo, "Sweep.py", "-c", result_dir.name)
    assert second.returncode == 0, second.stderr
    runs = provenance(result_dir)["runs"]
    assert [r["run"] for r in runs] == [1, 2]
    assert runs[0] == run  # the first entry is kept as it was
    assert runs[1]["continued"] is True and runs[1]["git"]["dirty"] is True
    assert runs[1]["engine_sha256"] != run["engine_sha256"]

    # Results: the done combinations of both runs, with what the engine attached.
    with ParamSweeper(result_dir / "sweeper") as sweeper:
        assert len(sweeper.get_done()) == 5
        out = io.StringIO()
        assert export_results(sweeper, out, results=result_dir) == 5
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0] == {"combination": {"size": 10, "algo": "a"},
                        "result": {"time": 1.0, "tags": ["a"]}}  # fmt: skip
    assert [line["combination"] for line in lines] == [
        {"size": 10, "algo": "a"},
        {"size": 10, "algo": "b"},
        {"size": 100, "algo": "a"},
        {"size": 100, "algo": "b"},
        {"size": 1000, "algo": "a"},
    ]  # fmt: skip — in sweep order; the skipped one is not there
    with (result_dir / "results.csv").open() as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["size", "algo", "time", "tags"]
    assert rows[1] == ["10", "a", "1.0", '["a"]'] and len(rows) == 6
    attached = [
        json.loads(line) for line in (result_dir / "results.jsonl").read_text().splitlines()
    ]
    assert [r["run"] for r in attached] == [1, 1, 2, 2, 2]


def test_failures_and_interruptions_are_recorded(repo: Path, tmp_path: Path) -> None:
    failed = execo_run(repo, "Sweep.py", "--fail")
    assert failed.returncode == 1
    (result_dir,) = repo.glob("Sweep_*")
    (run,) = provenance(result_dir)["runs"]
    assert (run["status"], run["exit_code"]) == ("failed", 1)
    assert run["error"] == "RuntimeError: asked to fail"
    # Outside a git work tree: no git state.
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "Sweep.py").write_text(textwrap.dedent(SWEEP_ENGINE))
    assert execo_run(plain, "Sweep.py", "--stop-after", "1").returncode == 0
    (other,) = plain.glob("Sweep_*")
    assert provenance(other)["runs"][0]["git"] is None


async def test_interrupted_run(tmp_path: Path) -> None:
    from execo_engine import Engine

    class Interrupted(Engine):
        async def run(self) -> None:
            raise KeyboardInterrupt

    engine = Interrupted()
    with pytest.raises(KeyboardInterrupt):
        await engine.astart(["-c", str(tmp_path / "r")])
    (run,) = provenance(tmp_path / "r")["runs"]
    assert (run["status"], run["exit_code"], run["error"]) == (
        "interrupted",
        130,
        "KeyboardInterrupt",
    )
    assert run["git"] is None or isinstance(run["git"]["dirty"], bool)


def test_results_file_and_export_edges(tmp_path: Path) -> None:
    from execo_engine import append_result

    path = tmp_path / "results.jsonl"
    comb = sweep({"a": [(1, 2)], "b": [frozenset({3})]})[0]
    append_result(path, comb, {"x": 1})
    append_result(path, comb, {"x": 2})  # the last one wins
    with path.open("a") as f:
        f.write('{"combination": {"a"')  # a line cut short by a crash
    assert read_results(path) == {comb: {"x": 2}}
    with pytest.raises(EngineError, match="not JSON"):
        append_result(path, comb, {"x": object()})
    with pytest.raises(EngineError, match="must be a dict"):
        append_result(path, comb, [1])  # type: ignore[arg-type]
    with ParamSweeper(tmp_path / "sw", [comb]) as sweeper:
        sweeper.done(comb)
        out = io.StringIO()
        export_results(sweeper, out, results=path, format="csv")
        assert out.getvalue() == 'a,b,x\n"[1,2]",[3],2\n'
        with pytest.raises(ValueError, match="format must be"):
            export_results(sweeper, out, results=path, format="xml")  # type: ignore[arg-type]
