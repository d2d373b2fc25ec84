"""Benchmark: a sweep of 8 cells, serially in one process vs as Ray tasks on 2 CPUs.

Ours: :func:`app.sweep.run_sweep` with ``parallel=True`` (local Ray, ``num_cpus=2``; the
Ray start-up is timed too, it is part of what a user waits for; ``ratio_warm`` leaves it out,
``ratio_steady`` times the same sweep again on the warm workers: a long sweep's steady state).
Baseline: the same 8 cells with ``parallel=False`` (one after the other, no Ray).
Both write to their own fresh SQLite store under data/bench/. The per-cell summaries must
agree (same seed, same result). Target: ratio (serial / Ray) >= 1.5 on 2 cores.

    .venv/bin/python bench/bench_sweep.py [--quick] [--rounds R] [--devices N]

Cells are the small default scenario with ``--devices`` devices and 4 or 6 nodes, ``--rounds``
rounds (default 60; ``--quick`` 15, under 60 s in all), mechanisms uniform and mcafee, two seeds.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import parser, report  # noqa: E402

from agents.learning.ray_session import configure_scratch, ray_session  # noqa: E402
from app.sweep import run_sweep  # noqa: E402


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--rounds", type=int, default=None, help="rounds per cell")
    p.add_argument("--devices", type=int, default=80)
    p.add_argument("--scenario", default="smart_city")
    args = p.parse_args()
    configure_scratch()
    rounds = args.rounds or (15 if args.quick else 60)
    out = ROOT / "data" / "bench" / "sweep"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    grid = {"market.mechanism": ["uniform", "mcafee"], "nodes.count": [4, 6]}
    base = {"devices.count": args.devices, "snapshot_every": 0}
    seeds = [args.seed, args.seed + 1]

    t0 = time.perf_counter()
    serial = run_sweep(args.scenario, grid, seeds, db_url=f"sqlite:///{out / 'serial.db'}",
                       rounds=rounds, overrides=base, parallel=False)
    serial_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with ray_session(num_cpus=2):
        start_s = time.perf_counter() - t0
        par = run_sweep(args.scenario, grid, seeds, db_url=f"sqlite:///{out / 'ray.db'}",
                        rounds=rounds, overrides=base, parallel=True, num_cpus=2)
        ray_s = time.perf_counter() - t0
        # The same sweep again on the now warm workers (modules imported): the steady state
        # of a long sweep, where start-up is amortized.
        t1 = time.perf_counter()
        steady = run_sweep(args.scenario, grid, seeds, db_url=f"sqlite:///{out / 'ray2.db'}",
                           rounds=rounds, overrides=base, parallel=True, num_cpus=2)
        steady_s = time.perf_counter() - t1

    same = all(a.summary == b.summary and a.status == b.status == "done"
               for a, b in zip(serial.outcomes, par.outcomes, strict=True))
    report("sweep_8_cells_ray_vs_serial", ray_s, serial_s, ">= 1.5", cells=len(par.outcomes),
           rounds=rounds, devices=args.devices, same_results=same, ray_run_s=round(par.wall_s, 3),
           workers=par.workers, ray_start_s=round(start_s, 3),
           ratio_warm=round(serial_s / (ray_s - start_s), 2), steady_s=round(steady_s, 3),
           ratio_steady=round(serial_s / steady_s, 2),
           cell_s_mean=round(sum(o.wall_s for o in serial.outcomes) / 8, 3),
           # Per-cell time inside the warm Ray workers: ~cell_s_mean when 2 cores are free,
           # up to 2x when other load leaves the two workers about one core.
           cell_s_mean_ray=round(sum(o.wall_s for o in steady.outcomes) / 8, 3))


if __name__ == "__main__":
    main()
