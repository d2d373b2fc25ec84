"""Benchmark: learned node pricing against the best constant markup chosen in hindsight.

On ``scenarios/scarce_hotspots.yaml`` (scarce, moving hotspots, node costs ±50 %, buyers who
leave at high prices), in this order:

1. **grid search** on training seeds 0..G-1: every constant multiplier of
   ``agents.learning.benchmark.MULTIPLIERS`` (ask = true cost × m); the best mean
   delivered-welfare ratio wins (chosen in hindsight on the training seeds);
2. **training**: PPO (RLlib new API stack, one policy shared by the nodes, reward = the
   round's delivered welfare, ``learning.node_reward: welfare``) on episodes of seeds 0, 1, 2,
   ... for ``--iterations`` iterations or ``--train-seconds`` (``--checkpoint DIR`` loads a
   policy instead);
3. **evaluation** on held-out seeds 10000.. (``--seeds``, >= 10): learned, the best
   constant, tatonnement, ZIP and the equilibrium mechanism (a reference).

Prints the table and one JSON line: ``welfare_gain_pp`` (learned − best constant, percentage
points of the delivered-welfare ratio, mean over held-out seeds, ``welfare_gain_ci`` its 95 %
CI), ``dual_error_ratio`` (learned / best constant mean dual-tracking error), ``seeds``,
``baselines`` (every pricing's ratio and error with CIs) and ``target_met`` (+5 pp or a
halved dual error, with the CI's lower/upper bound clear of it).

    PYTHONPATH=. .venv/bin/python bench/bench_learned_pricing.py --quick   # ~5-10 min, 2 cores
    PYTHONPATH=. .venv/bin/python bench/bench_learned_pricing.py           # <= 30 min of training
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import parser  # noqa: E402

from agents.learning import benchmark as bm  # noqa: E402
from agents.learning.evaluation import Pricing  # noqa: E402
from agents.scenario import load_scenario  # noqa: E402

#: (grid seeds, rounds per run, held-out seeds, PPO iterations, training time budget s)
QUICK = (3, 25, 10, 6, 300.0)
FULL = (10, 50, 20, 10_000, 1500.0)


def train_policy(out: Path, iterations: int, budget_s: float, seed: int,
                 overrides: dict[str, Any] | None = None, batch: int = 1000) -> dict[str, Any]:
    """PPO on the benchmark scenario's training seeds; returns the training summary."""
    from agents.learning.training import TrainSpec, train

    spec = TrainSpec(scenario=bm.BENCH_SCENARIO, small=False, overrides=dict(overrides or {}),
                     iterations=iterations, time_budget_s=budget_s, out=str(out), seed=seed,
                     record=False, session=f"bench-learned-pricing-{out.name}",
                     train_batch_size=batch, minibatch_size=min(250, batch))

    def show(p: Any, total: int) -> None:
        print(f"  iter {p.iteration}: steps {p.env_steps}, {p.time_s:.0f} s, reward "
              f"{p.rewards}, welfare {p.metrics.get('welfare', float('nan')):.1f}, "
              f"multiplier {p.metrics.get('mean_multiplier', float('nan')):.2f}", flush=True)

    res = train(spec, on_iteration=show)
    last = res.curve[-1] if res.curve else None
    return {"iterations": len(res.curve), "env_steps": last.env_steps if last else 0,
            "train_s": round(res.wall_s, 1)}


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--checkpoint", default=None, help="evaluate this policy, do not train")
    p.add_argument("--out", default=None, help="checkpoint folder (default data/policies/...)")
    p.add_argument("--seeds", type=int, default=None, help="held-out seeds (>= 10)")
    p.add_argument("--rounds", type=int, default=None, help="rounds per evaluation run")
    p.add_argument("--iterations", type=int, default=None, help="PPO iterations at most")
    p.add_argument("--train-seconds", type=float, default=None, help="PPO time budget")
    p.add_argument("--batch", type=int, default=1000, help="env steps per PPO iteration")
    p.add_argument("--grid-seeds", type=int, default=None, help="training seeds of the grid")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="scenario override (YAML value), e.g. devices.count=40 (smoke runs)")
    args = p.parse_args()
    import yaml

    overrides = {}
    for item in args.set:
        key, _, val = item.partition("=")
        overrides[key] = yaml.safe_load(val)
    g_seeds, rounds, n_seeds, iters, budget = QUICK if args.quick else FULL
    g_seeds = args.grid_seeds or g_seeds
    rounds = args.rounds or rounds
    n_seeds = args.seeds or n_seeds
    iters = args.iterations or iters
    budget = args.train_seconds or budget
    sc = load_scenario(bm.BENCH_SCENARIO, overrides)
    t0 = time.perf_counter()

    best, grid = bm.grid_search(sc, range(g_seeds), rounds)
    print("grid (mean delivered-welfare ratio on training seeds):",
          {f"x{m:g}": round(v, 4) for m, v in grid.items()}, "best", f"x{best:g}", flush=True)
    grid_s = time.perf_counter() - t0

    training: dict[str, Any] = {}
    ckpt = args.checkpoint
    if ckpt is None:
        out = Path(args.out or ROOT / "data" / "policies" /
                   ("bench_learned_pricing_quick" if args.quick else "bench_learned_pricing"))
        training = train_policy(out, iters, budget, args.seed, overrides, args.batch)
        ckpt = str(out)
    t1 = time.perf_counter()
    pricings = [Pricing("learned", "rllib", {"checkpoint": str(ckpt)}), *bm.baseline_pricings(best)]
    results = [bm.run_seed(sc, pr, bm.HELDOUT_SEED0 + s, rounds)
               for s in range(n_seeds) for pr in pricings]
    rows = bm.summary(results)
    print(bm.markdown(rows))
    cmp = bm.compare(results, "learned", bm.constant_markup(best).name)
    lo = cmp["welfare_gain_ci"][0]
    hi = cmp["dual_error_ratio_ci"][1]
    line = {
        "name": "learned_pricing", **cmp, "best_constant_multiplier": best,
        "grid_training_seeds": g_seeds, "grid": {f"x{m:g}": v for m, v in grid.items()},
        "rounds": rounds, "heldout_seed0": bm.HELDOUT_SEED0,
        "baselines": {r["pricing"]: {k: r[k] for k in ("welfare_ratio", "welfare_ratio_ci",
                                                        "dual_error", "dual_error_ci",
                                                        "bundle_dual_error", "ask_dual_error",
                                                        "left_share", "mean_multiplier")}
                      for r in rows},
        "training": training, "checkpoint": str(ckpt),
        "target": "welfare_gain_pp >= 5 or dual_error_ratio <= 0.5 (95 % CI bound clear)",
        "target_met": bool((lo == lo and lo >= 5.0) or (hi == hi and hi <= 0.5)),
        "grid_s": round(grid_s, 1), "eval_s": round(time.perf_counter() - t1, 1),
        "quick": bool(args.quick), "scenario_overrides": overrides,
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
