"""Benchmark: what real federated learning costs the default run (issue: "the FL work must
not dominate runs": the default scenario's wall time grows by at most 2x).

Ours: the default scenario (smart_city) as shipped, where the learning classes (``fl.classes``:
medicine and robot) run FedAvg on their partitions of the digits data set -- the seed's FL
table trained at model construction, each request's job advanced every round.
Baseline: the same scenario and seed with ``fl.classes: []``, i.e. every class scored by the
accuracy curve of a pre-trained model (what the platform did before FL was real).
Each is timed in a fresh interpreter (its own kernel warm-up and FL table cache): model
construction plus ``--rounds`` rounds (100, or 20 with --quick), best of ``--repeat`` runs.
Last line: JSON with ``ours_s`` (with FL), ``baseline_s`` (without), ``ratio`` (baseline /
ours, as every bench), ``growth`` (ours / baseline) and ``target_met`` (growth <= 2).

    .venv/bin/python bench/bench_fl_cost.py [--quick] [--rounds N] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _common import parser, report  # noqa: E402

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from agents.model import EdgeMarketModel
from agents.scenario import load_scenario
overrides = json.loads(sys.argv[1])
sc = load_scenario("smart_city", overrides)
t1 = time.perf_counter()
model = EdgeMarketModel(sc, seed=int(sys.argv[2]))
t2 = time.perf_counter()
sla = [model.step().sla_rate for _ in range(int(sys.argv[3]))]
t3 = time.perf_counter()
print(json.dumps({"build_s": t2 - t1, "rounds_s": t3 - t2, "sla": sum(sla) / len(sla)}))
"""


def _fail(msg: str) -> NoReturn:
    print(f"bench_fl_cost.py: {msg}", file=sys.stderr)
    raise SystemExit(2)


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def timed_run(overrides: dict[str, object], seed: int, rounds: int) -> dict[str, float]:
    """Construction and rounds of one run, timed in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(overrides), str(seed),
                          str(rounds)], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=1800)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=_count, default=None, help="rounds per run")
    p.add_argument("--repeat", type=_count, default=None, help="runs of each, best kept")
    p.error = _fail  # type: ignore[method-assign,assignment]  # one line, exit 2
    args = p.parse_args()
    rounds = args.rounds or (20 if args.quick else 100)
    repeat = args.repeat or (1 if args.quick else 2)
    best: dict[str, dict[str, float]] = {}
    for _ in range(repeat):  # interleaved, so a change of load hits both alike
        for name, overrides in (("fl", {}), ("no_fl", {"fl.classes": []})):
            r = timed_run(overrides, args.seed, rounds)
            r["total_s"] = r["build_s"] + r["rounds_s"]
            if name not in best or r["total_s"] < best[name]["total_s"]:
                best[name] = r
    ours, base = best["fl"], best["no_fl"]
    growth = ours["total_s"] / base["total_s"]
    print(f"smart_city, {rounds} rounds: with FL {ours['total_s']:.2f} s (build "
          f"{ours['build_s']:.2f} s), without {base['total_s']:.2f} s (build "
          f"{base['build_s']:.2f} s): x{growth:.2f}", flush=True)
    report("fl_cost_default_run", ours["total_s"], base["total_s"],
           "growth (with FL / without) <= 2", growth=round(growth, 3),
           target_met=growth <= 2.0, rounds=rounds, repeat=repeat,
           build_s=round(ours["build_s"], 3), baseline_build_s=round(base["build_s"], 3),
           rounds_s=round(ours["rounds_s"], 3), baseline_rounds_s=round(base["rounds_s"], 3),
           sla_rate=round(ours["sla"], 4), baseline_sla_rate=round(base["sla"], 4))


if __name__ == "__main__":
    main()
