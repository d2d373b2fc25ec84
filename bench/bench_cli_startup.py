"""Benchmark: how long `edgemarket --help` takes to answer (the CLI's start-up).

Ours: `python -m app.cli --help` (the top-level group lists its commands from a table and
imports none of them). Baseline: the eager start-up the CLI had before, importing every
command module (market, scenario, run, runs, ledger, train, sweep, serve) and then printing
the same help. Both are fresh interpreters; the figure is the best of N runs of wall time
and of CPU time (user + sys of the child, which a loaded machine inflates less than wall
time). Target: ours < 0.5 s.

    .venv/bin/python bench/bench_cli_startup.py [--quick]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parser, report

ROOT = Path(__file__).resolve().parents[1]
EAGER = ("import app.commands.market, app.commands.scenario, app.commands.run, app.commands.runs, "
         "app.commands.ledger, app.commands.train, app.commands.sweep, app.commands.serve\n"
         "from app.cli import main\nmain(['--help'])")


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall s, child CPU s) of one run of `cmd`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, capture_output=True, check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best(cmd: list[str], n: int) -> tuple[float, float]:
    runs = [timed(cmd) for _ in range(n)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    n = 3 if args.quick else 7
    ours = best([sys.executable, "-m", "app.cli", "--help"], n)
    eager = best([sys.executable, "-c", EAGER], n)
    bare = best([sys.executable, "-c", "pass"], n)
    print(f"edgemarket --help: {ours[0]:.3f} s wall, {ours[1]:.3f} s CPU; eager imports: "
          f"{eager[0]:.3f} s wall, {eager[1]:.3f} s CPU; bare python {bare[0]:.3f} s wall", flush=True)
    report("cli_help_startup", ours[0], eager[0], "ours < 0.5 s", ours_cpu_s=round(ours[1], 4),
           baseline_cpu_s=round(eager[1], 4), bare_python_s=round(bare[0], 4),
           cpu_ratio=round(eager[1] / ours[1], 2) if ours[1] else None, load_avg_1m=os.getloadavg()[0])


if __name__ == "__main__":
    main()
