"""`edgemarket evaluate SCENARIO --benchmark`: the learned-pricing benchmark's table with CIs.

Runs a trained policy (``--checkpoint``), tâtonnement, ZIP, the best constant markup (chosen
on training seeds by grid search, or given with ``--multiplier``) and the equilibrium
mechanism on held-out seeds 10000.. (agents/learning/benchmark.py), prints the table with
95 % confidence intervals and the learned-vs-constant comparison, and stores one row per
pricing and seed in the evaluations table (``welfare_share`` = delivered-welfare ratio).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer


def run_benchmark_evaluation(sc: Any, checkpoint: str | None, seeds: int, rounds: int,
                             multiplier: float | None, grid_seeds: int, session: str,
                             db: str | None, markdown: str | None, as_json: bool) -> None:
    """Evaluate, print and store (see the module docstring)."""
    from agents.learning import benchmark as bm
    from agents.learning.evaluation import Pricing
    from ledger.store import RunStore

    grid: dict[float, float] = {}
    if multiplier is None:
        multiplier, grid = bm.grid_search(sc, range(grid_seeds), rounds)
        if not as_json:
            typer.echo("grid on training seeds 0.." f"{grid_seeds - 1}: " + ", ".join(
                f"x{m:g} {v:.4f}" for m, v in grid.items()) + f"; best x{multiplier:g}", err=True)
    pricings = [*([Pricing("learned", "rllib", {"checkpoint": str(checkpoint)})]
                  if checkpoint else []), *bm.baseline_pricings(multiplier)]
    results = []
    for s in range(seeds):
        for pr in pricings:
            r = bm.run_seed(sc, pr, bm.HELDOUT_SEED0 + s, rounds)
            results.append(r)
            if not as_json:
                typer.echo(f"seed {r.seed}  {r.pricing:<14} ratio {r.welfare_ratio:.4f}  "
                           f"dual error {r.dual_error:.4f}  left {r.left_share:.3f}", err=True)
    rows = bm.summary(results)
    table = bm.markdown(rows)
    cmp = bm.compare(results, "learned", bm.constant_markup(multiplier).name) if checkpoint else None
    store = RunStore(db)
    store.record_evaluation(session, [r.to_row(sc.name) for r in results])
    store.engine.dispose()
    if markdown:
        Path(markdown).write_text(table + "\n", encoding="utf-8")
    if as_json:
        typer.echo(json.dumps({"session": session, "scenario": sc.name, "rounds": rounds,
                               "seeds": [bm.HELDOUT_SEED0 + s for s in range(seeds)],
                               "best_constant_multiplier": multiplier, "summary": rows,
                               "comparison": cmp}, default=str))
        return
    typer.echo(table)
    if cmp:
        lo, hi = cmp["welfare_gain_ci"]
        rlo, rhi = cmp["dual_error_ratio_ci"]
        typer.echo(f"learned − constant x{multiplier:g}: {cmp['welfare_gain_pp']:+.2f} pp of "
                   f"delivered-welfare ratio [95 % CI {lo:+.2f}, {hi:+.2f}]; dual-error ratio "
                   f"{cmp['dual_error_ratio']:.3f} [{rlo:.3f}, {rhi:.3f}] over {cmp['seeds']} seeds")
    typer.echo(f"stored as evaluation session {session} ({len(results)} rows)")
