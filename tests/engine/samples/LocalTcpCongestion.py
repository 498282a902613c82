"""FEATURES §5.2 ``g5k_tcp_congestion.py``, on local processes instead of Grid'5000 nodes.

The structure of the original: an Engine whose ``run`` sweeps ``num_flows`` x congestion
algorithm x repeat through a ParamSweeper stored in the result directory; for each
combination, a "server" runs in the background (``iperf -s`` there, ``sleep`` here) while a
"client" measures (``iperf -c -P flows -Z algo`` there, a shell command printing an
iperf-like line here); the bandwidth is parsed with a regex and saved; the combination is
marked done, or skipped when the measure failed. Two fake nodes measure in parallel.

Run it with ``execo-run LocalTcpCongestion.py``; continue an interrupted run with
``execo-run LocalTcpCongestion.py -c <result dir>``.

Results are written one file per combination (atomically, named after the combination)
*before* ``done``: a measure interrupted between the two is redone and its file rewritten,
so every combination ends with exactly one result file.
"""

from __future__ import annotations

import os
import re
import shlex

import trio

from execo_engine import AsyncParamSweeper, Engine, HashableDict, igeom, logger, slugify, sweep

_BANDWIDTH = re.compile(r"(\d+(?:\.\d+)?)\s+([MG])bits/sec")


class LocalTcpCongestion(Engine):
    """Measure (fake) TCP bandwidth for several flow counts and congestion algorithms."""

    def __init__(self) -> None:
        super().__init__()
        self.args_parser.add_argument("--nodes", type=int, default=2, help="parallel workers")
        self.args_parser.add_argument(
            "--delay", type=float, default=0.0, help="seconds each measure takes"
        )
        self.args_parser.add_argument(
            "--fail-flows", type=int, default=None, help="measures with this many flows fail"
        )

    async def run(self) -> None:
        combinations = sweep(
            {
                "num_flows": igeom(1, 20, 5),
                "tcp_congestion_control": ["cubic", "reno"],
                "repeat": range(3),
            }
        )
        os.makedirs(os.path.join(self.result_dir, "results"), exist_ok=True)
        sweeper = await AsyncParamSweeper.open(
            os.path.join(self.result_dir, "sweeper"), combinations
        )
        async with sweeper:
            logger.info("%s", sweeper)
            async with trio.open_nursery() as nursery:
                for node in range(self.args.nodes):
                    nursery.start_soon(self._node, sweeper, f"node-{node}")
            logger.info("%s", sweeper)

    async def _node(self, sweeper: AsyncParamSweeper, node: str) -> None:
        while (comb := await sweeper.get_next()) is not None:
            try:
                bandwidth = await self._measure(comb)
            except BaseException:
                with trio.CancelScope(shield=True):
                    await sweeper.cancel(comb)
                raise
            if bandwidth is None:
                logger.warning("%s: measure failed for %s", node, comb)
                await sweeper.skip(comb)
                continue
            self._save(comb, node, bandwidth)
            await sweeper.done(comb)
            self._log_done(comb)

    async def _measure(self, comb: HashableDict) -> float | None:
        flows = comb["num_flows"]
        algo = comb["tcp_congestion_control"]
        mbits = 940.0 - 3.0 * flows - (7.0 if algo == "reno" else 0.0) + comb["repeat"]
        status = 1 if flows == self.args.fail_flows else 0
        client = (
            f"sleep {self.args.delay}; "
            f"echo '[SUM]  0.0-10.0 sec  1.09 GBytes  {mbits:.1f} Mbits/sec'; exit {status}"
        )
        async with trio.open_nursery() as nursery:
            # The "server" lives while the client measures, then is killed (cancelled).
            nursery.start_soon(trio.run_process, ["sleep", "1000"])
            result = await trio.run_process(["sh", "-c", client], capture_stdout=True, check=False)
            nursery.cancel_scope.cancel()
        match = _BANDWIDTH.search(result.stdout.decode())
        if result.returncode != 0 or match is None:
            return None
        return float(match.group(1)) * (1000.0 if match.group(2) == "G" else 1.0)

    def _save(self, comb: HashableDict, node: str, bandwidth: float) -> None:
        path = os.path.join(self.result_dir, "results", slugify(comb, "_") + ".yaml")
        lines = [f"{k}: {v}" for k, v in comb.items()]
        lines += [f"node: {node}", f"bandwidth_mbits: {bandwidth}"]
        with open(path + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(path + ".tmp", path)

    def _log_done(self, comb: HashableDict) -> None:
        line = (shlex.quote(slugify(comb, "_")) + "\n").encode()
        fd = os.open(
            os.path.join(self.result_dir, "done.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT
        )
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


if __name__ == "__main__":
    LocalTcpCongestion().start()
