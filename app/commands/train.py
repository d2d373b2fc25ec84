"""`edgemarket train` and `edgemarket evaluate`: learn pricing and bidding with PPO, then compare.

    edgemarket train smart_city --iterations 20 --policy shared --out data/policies/city
    edgemarket evaluate smart_city --checkpoint data/policies/city --seeds 3 --rounds 50
    edgemarket evaluate scarce_hotspots --benchmark --checkpoint DIR --seeds 10 --rounds 25

`train` runs PPO (RLlib new API stack) on the small version of the scenario by default
(`--full` for the file as written), on a local Ray with 2 CPUs (`--address` for a cluster),
shows the mean episode reward per policy each iteration, saves a checkpoint and stores the
training curve in the run store. `evaluate` runs learned pricing, tâtonnement, fixed markup
and the competitive equilibrium on the same seeds and stores one row per pricing and seed.
A trained policy is used in an ordinary run by naming it as the strategy of the role it
learned: `--set 'nodes.strategy={name: rllib, params: {checkpoint: DIR}}'`, likewise
`devices.strategy` (bidding and the broker switch, `--learn devices=K`) and
`devices.broker_strategy` (broker pricing, `--learn brokers=all`), or in the scenario file.
"""

from __future__ import annotations

import json
import time
from typing import Any

import typer

from app.errors import UserError
from app.overrides import parse_assignments

POLICIES = ("shared", "per-role", "per-agent")


def _load(scenario: str, overrides: dict[str, Any], small: bool) -> Any:
    from agents.scenario import SMALL_OVERRIDES, ScenarioError, load_scenario

    try:
        return load_scenario(scenario, {**(SMALL_OVERRIDES if small else {}), **overrides})
    except ScenarioError as exc:
        raise UserError(str(exc)) from None


def register(cli: typer.Typer) -> None:
    """Add the top-level `train` and `evaluate` commands to the CLI."""

    @cli.command("train")
    def train_command(
        scenario: str = typer.Argument(..., help="Scenario name (scenarios/NAME.yaml) or path."),
        iterations: int = typer.Option(10, "--iterations", "-n", min=1, help="PPO iterations."),
        policy: str = typer.Option("shared", "--policy", help="shared | per-role | per-agent."),
        out: str = typer.Option(None, "--out", help="Checkpoint folder (default: data/policies/SESSION)."),
        address: str = typer.Option(None, "--address", help="Ray cluster address (default: local Ray, 2 CPUs)."),
        small: bool = typer.Option(True, "--small/--full", help="Shrink the scenario (40 devices, 4 nodes)."),
        sets: list[str] = typer.Option([], "--set", help="key=value scenario override; repeatable."),
        learn: list[str] = typer.Option([], "--learn", help="key=value of the learning section "
                                        "(nodes, devices, brokers, max_multiplier, episode_rounds, "
                                        "...); repeatable."),
        time_budget: float = typer.Option(None, "--time-budget", min=1, help="Stop after this many seconds."),
        seed: int = typer.Option(0, "--seed"),
        batch: int = typer.Option(1000, "--batch", min=10, help="Env steps per iteration."),
        env_runners: int = typer.Option(0, "--env-runners", min=0, max=1,
                                        help="0: sample in this process; 1: one remote runner."),
        session: str = typer.Option(None, "--session", help="Name of the training session in the store."),
        db: str = typer.Option(None, "--db", help="Run store URL (default: data/edgemarket.db)."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Train node pricing, device bidding and broker pricing (PPO, RLlib new API stack,
        multi-agent) and save a checkpoint."""
        from pydantic import ValidationError
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        from agents.learning.config import learning_config
        from agents.learning.training import TrainSpec, train

        if policy not in POLICIES:
            raise UserError(f"--policy {policy!r}: expected one of {', '.join(POLICIES)}")
        overrides = parse_assignments(sets)
        learning = parse_assignments(learn, "--learn")
        sc = _load(scenario, overrides, small)
        try:
            learning_config(sc, {**learning, "policy": policy})
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            raise UserError(f"--learn {loc}: {msg}" if loc else f"--learn: {msg}") from None
        spec = TrainSpec(scenario=scenario, overrides=overrides, small=small, learning=learning,
                         policy=policy, iterations=iterations, time_budget_s=time_budget, out=out,
                         seed=seed, address=address, train_batch_size=batch,
                         minibatch_size=min(250, batch), num_env_runners=env_runners,
                         session=session, db_url=db)
        console = Console(stderr=True)
        with Progress(TextColumn("train [bold]{task.fields[name]}[/]"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[status]}"), TimeElapsedColumn(), console=console,
                      disable=as_json) as bar:
            task = bar.add_task("train", total=iterations, name=sc.name, status="building PPO…")

            def on_iteration(point, total):  # type: ignore[no-untyped-def]
                rewards = "  ".join(f"{m} {r:.3f}" if r is not None else f"{m} –"
                                    for m, r in point.rewards.items())
                extra = point.metrics
                line = (f"iter {point.iteration:>3}  reward {rewards}  env steps {point.env_steps:,}"
                        f"  welfare {extra.get('welfare', float('nan')):.1f}"
                        f"  multiplier {extra.get('mean_multiplier', float('nan')):.2f}"
                        f"  {point.time_s:.0f}s")
                bar.update(task, completed=point.iteration, status=f"reward {rewards}")
                if not as_json:
                    bar.console.print(line, soft_wrap=True, highlight=False)

            try:
                result = train(spec, on_iteration)
            except ValueError as exc:
                raise UserError(str(exc).splitlines()[0]) from None
        if as_json:
            typer.echo(json.dumps(result.to_dict(), default=str))
            return
        last = result.curve[-1] if result.curve else None
        typer.echo(f"trained {len(result.curve)} iterations ({last.env_steps if last else 0:,} env steps) "
                   f"in {result.wall_s:.0f}s; checkpoint {result.checkpoint}; session {result.session}")
        roles = {"node_": "nodes.strategy", "device_": "devices.strategy",
                 "broker_": "devices.broker_strategy"}
        from agents.learning.policy_strategy import read_policy_meta

        agents = read_policy_meta(result.checkpoint).get("agent_modules", {})
        for prefix, key in roles.items():
            if any(a.startswith(prefix) for a in agents):
                typer.echo(f"use it: --set '{key}={{name: rllib, params: "
                           f"{{checkpoint: {result.checkpoint}}}}}'")

    @cli.command("evaluate")
    def evaluate_command(
        scenario: str = typer.Argument(..., help="Scenario name (scenarios/NAME.yaml) or path."),
        checkpoint: str = typer.Option(None, "--checkpoint", "-c",
                                       help="Trained policy folder (`edgemarket train --out`); omit to "
                                            "compare the rule-based pricings only."),
        seeds: int = typer.Option(3, "--seeds", min=1, help="Seeds 1000..1000+N-1 (unseen in training)."),
        rounds: int = typer.Option(50, "--rounds", min=1, help="Rounds per run."),
        small: bool = typer.Option(True, "--small/--full", help="Shrink the scenario (40 devices, 4 nodes)."),
        sets: list[str] = typer.Option([], "--set", help="key=value scenario override; repeatable."),
        markup: float = typer.Option(None, "--markup", min=0, help="Markup of fixed_markup (default: scenario's)."),
        session: str = typer.Option(None, "--session", help="Name of the evaluation in the store."),
        db: str = typer.Option(None, "--db", help="Run store URL (default: data/edgemarket.db)."),
        markdown: str = typer.Option(None, "--markdown", help="Also write the table to this file."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
        benchmark: bool = typer.Option(
            False, "--benchmark", help="The learned-pricing benchmark (scarce_hotspots): delivered-"
                                       "welfare ratio and dual-tracking error with 95 % CIs, "
                                       "baselines tatonnement, ZIP, best constant markup; seeds "
                                       "10000.., scenario as written (docs/learning.md)."),
        multiplier: float = typer.Option(None, "--multiplier", min=0,
                                         help="--benchmark: the constant multiplier (default: "
                                              "grid search on training seeds)."),
        grid_seeds: int = typer.Option(3, "--grid-seeds", min=1,
                                       help="--benchmark: training seeds 0..N-1 of the grid search."),
    ) -> None:
        """Compare learned pricing, tâtonnement, fixed markup and the competitive equilibrium."""
        from agents.learning.evaluation import evaluate, standard_pricings
        from agents.learning.policy_strategy import read_policy_meta
        from ledger.store import RunStore

        sc = _load(scenario, parse_assignments(sets), small and not benchmark)
        if checkpoint:
            try:
                read_policy_meta(checkpoint)
            except ValueError as exc:
                raise UserError(str(exc), where="--checkpoint") from None
        if benchmark:
            from app.commands.pricing_benchmark import run_benchmark_evaluation

            run_benchmark_evaluation(sc, checkpoint, seeds, rounds, multiplier, grid_seeds,
                                     session or f"bench-{sc.name}-{time.strftime('%Y%m%d-%H%M%S')}",
                                     db, markdown, as_json)
            return
        pricings = standard_pricings(sc, checkpoint, markup)
        seed_list = list(range(1000, 1000 + seeds))

        def on_outcome(o):  # type: ignore[no-untyped-def]
            if not as_json:
                typer.echo(f"seed {o.seed}  {o.pricing:<13} welfare {o.welfare:9.1f}  profit "
                           f"{o.provider_profit:8.1f}  QoAIS {o.qoais:.3f}  SLA {o.sla_rate:.3f}", err=True)

        report = evaluate(sc, pricings, seed_list, rounds, on_outcome)
        name = session or f"eval-{sc.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        store = RunStore(db)
        store.record_evaluation(name, report.rows())
        store.engine.dispose()
        table = report.markdown()
        if markdown:
            from pathlib import Path

            Path(markdown).write_text(table + "\n", encoding="utf-8")
        if as_json:
            typer.echo(json.dumps({"session": name, "scenario": sc.name, "seeds": seed_list,
                                   "rounds": rounds, "summary": report.summary()}, default=str))
        else:
            typer.echo(table)
            typer.echo(f"stored as evaluation session {name} ({len(report.outcomes)} rows)")
