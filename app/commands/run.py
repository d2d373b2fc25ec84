"""`edgemarket run`: simulate a scenario, settle it on a local chain, store it, print a summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.overrides import parse_assignments

console = Console(stderr=True)


def print_summary(s: dict[str, Any], out: Console | None = None) -> None:
    """Render a run summary as tables (shared by `run` and `runs show`)."""
    out = out or Console()
    head = Table(title=f"run {s['run_id']}: {s['scenario']} (seed {s['seed']}, {s['mechanism']})", show_header=False)
    head.add_column(style="bold")
    head.add_column()
    head.add_row("rounds", str(s["rounds"]))
    if s["efficiency_mean"] is None:
        head.add_row("efficiency vs optimum", "not computed (scenario market.optimum_every: 0)")
    else:
        head.add_row("efficiency vs optimum", f"{s['efficiency_mean']:.3f} mean, {s['efficiency_final']:.3f} last round")
        if min(s["efficiency_mean"], s["efficiency_final"]) < 0:
            from app.ui.labels import NEGATIVE_EFFICIENCY

            head.add_row("", NEGATIVE_EFFICIENCY)
    head.add_row("welfare", f"{s['welfare_total']:.2f} credits ({s['optimal_welfare_total']:.2f} credits optimal)")
    alloc, delivered = s.get("allocative_efficiency_mean"), s.get("delivered_welfare_total")
    if alloc is not None:  # honest welfare: true values and costs, pool-wide optimum
        head.add_row("allocative efficiency", f"{alloc:.3f} mean (true costs, pool-wide optimum)")
    if delivered is not None:
        head.add_row("delivered welfare", f"{delivered:.2f} credits (SLA-met requests only)")
    head.add_row("trades", f"{s['trades']:,}")
    bts, bvs = s.get("broker_trade_share"), s.get("broker_value_share")
    if bts is not None:  # brokers' share of the run's trades (count) and of credits paid
        head.add_row("broker share", f"{bts:.2%} of trades, "
                     + ("—" if bvs is None else f"{bvs:.2%}") + " of traded value")
    head.add_row("requests served", f"{s['served']:,} of {s['requests']:,}")
    head.add_row("SLA rate", f"{s['sla_rate']:.3f} (share of requests, 0-1)")
    head.add_row("handovers", f"{s['handovers']:,}")
    head.add_row("wall time", f"{s['wall_s']:.2f} s")
    out.print(head)

    from market.resources import RESOURCE_NAMES, RESOURCE_UNITS

    units = dict(zip(RESOURCE_NAMES, RESOURCE_UNITS, strict=True))
    prices = Table(title="final prices (credits per unit; venues pooled by units traded, "
                         "the same weights for both columns)")
    prices.add_column("resource")
    prices.add_column("unit")
    prices.add_column("price (credits/unit)", justify="right")
    prices.add_column("equilibrium (credits/unit)", justify="right")
    for name, p in s["final_prices"].items():
        eq = s["equilibrium_prices"].get(name)
        prices.add_row(name, units.get(name, ""), "—" if p is None else f"{p:.5g}", "—" if eq is None else f"{eq:.5g}")
    for name, p in (s.get("cloud_prices") or {}).items():  # the cloud venue on its own
        eq = (s.get("cloud_equilibrium_prices") or {}).get(name)
        if p is not None or eq is not None:
            prices.add_row(f"{name} (cloud)", units.get(name, ""), "—" if p is None else f"{p:.5g}",
                           "—" if eq is None else f"{eq:.5g}")
    out.print(prices)
    _print_venues(out, s.get("venue_prices") or [], units)

    q = Table(title="QoAIS per service class")
    for col in ("class", "requests", "served", "SLA rate (0-1)", "QoAIS (0-1)", "latency (ms)"):
        q.add_column(col, justify="left" if col == "class" else "right")
    for name, c in s["qoais"].items():
        q.add_row(name, f"{c['requests']:,}", f"{c['served']:,}", f"{c['sla_rate']:.3f}",
                  f"{c['qoais']:.3f}", f"{c['latency_ms']:.1f}")
    out.print(q)

    chain = s.get("chain") or {}
    if chain:
        t = Table(title="settlement", show_header=False)
        t.add_column(style="bold")
        t.add_column()
        for k, v in chain.items():
            if isinstance(v, bool):
                text = "yes" if v else "NO"
            elif isinstance(v, int):
                text = f"{v:,}"
            else:
                text = str(v)
            t.add_row(k.replace("_", " "), text)
        out.print(t)


#: Rows of the per-venue price table the CLI prints (the JSON and the store hold all).
VENUE_ROWS = 24


def _print_venues(out: Console, venues: list[dict[str, Any]], units: dict[str, str]) -> None:
    """Last round, each venue's clearing price next to its LP duals (definitions:
    agents/marketplace_prices.py): one row per venue and offered resource."""
    if not venues:
        return
    t = Table(title="prices per venue, last round (credits/unit; dual: LP on the orders as "
                    "bid and asked; true dual: LP on true values and costs)")
    for col in ("venue", "resource", "price", "dual", "true dual", "traded", "offered"):
        t.add_column(col, justify="left" if col in ("venue", "resource") else "right")

    def f(x: float | None) -> str:
        return "—" if x is None else f"{x:.5g}"

    rows = [(v, r) for v in venues for r in v["supply"]]
    for v, r in rows[:VENUE_ROWS]:
        t.add_row(v["name"], r, f(v["price"][r]), f(v["dual"][r]),
                  f(v["dual_true"][r]), f(v["volume"][r]), f(v["supply"][r]))
    if len(rows) > VENUE_ROWS:
        t.caption = (f"{len(rows) - VENUE_ROWS} more rows: `runs show --json`, or the "
                     "venue_prices table of `runs export`")
    out.print(t)


def register(cli: typer.Typer) -> None:
    @cli.command("run")
    def run(
        scenario: Annotated[str, typer.Argument(help="scenario name in scenarios/ or a YAML path")] = "smart_city",
        rounds: Annotated[int | None, typer.Option(help="rounds to simulate (default: the scenario's)")] = None,
        seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same run")] = 0,
        db: Annotated[str | None, typer.Option(help="SQLAlchemy URL of the run store (default: data/edgemarket.db)")] = None,
        mechanism: Annotated[str | None, typer.Option(help="market mechanism (uniform, mcafee, tatonnement, posted, equilibrium)")] = None,
        chain: Annotated[str, typer.Option(help="'anvil' (a local chain started here), 'none', or a JSON-RPC URL")] = "anvil",
        rpc_url: Annotated[str | None, typer.Option("--rpc-url", help="settle on this JSON-RPC endpoint instead of a local Anvil")] = None,
        set_: Annotated[list[str] | None, typer.Option("--set", help="scenario override KEY=VALUE, e.g. devices.count=50 (repeatable)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print the summary as one JSON document on stdout instead of tables")] = False,
        json_out: Annotated[Path | None, typer.Option("--summary-out", help="also write the summary as JSON to this file")] = None,
        resume: Annotated[int | None, typer.Option(help="resume the stored run with this id")] = None,
        key_file: Annotated[Path | None, typer.Option("--key-file", help="operator private key (hex) for --chain URL / --rpc-url (or env EDGEMARKET_OPERATOR_KEY)")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar or tables")] = False,
        data_dir: Annotated[Path | None, typer.Option("--data-dir", help="folder for the store, chain state, logs and artefacts (as `edgemarket --data-dir`)")] = None,
    ) -> None:
        """Simulate a scenario round by round, settle each round on chain and store it."""
        if data_dir is not None:
            from app.datadir import apply_data_dir

            apply_data_dir(data_dir)
        from app.input_checks import check_output_path
        from app.runner import run_simulation

        check_output_path(json_out, where="--summary-out")
        overrides = parse_assignments(set_)
        if mechanism:
            overrides["market.mechanism"] = mechanism
        target = rpc_url or chain
        progress = Progress(
            TextColumn("[bold]simulating"), BarColumn(), MofNCompleteColumn(), TextColumn("rounds"),
            TimeElapsedColumn(), console=console, disable=quiet, transient=True,
        )
        with progress:
            task = progress.add_task("run", total=None)

            def tick(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            try:
                summary = run_simulation(
                    scenario, overrides=overrides, seed=seed, rounds=rounds, db_url=db, chain=target,
                    progress=tick, resume_run_id=resume,
                    key_file=None if key_file is None else str(key_file),
                )
            except KeyboardInterrupt as exc:
                rid = getattr(exc, "run_id", None)
                if rid is None:
                    typer.echo("interrupted", err=True)
                else:
                    typer.echo(f"interrupted: resume with edgemarket run --resume {rid} "
                               f"--db {getattr(exc, 'db_url', db)}", err=True)
                raise typer.Exit(130) from None
        d = summary.to_dict()
        if json_out is not None:
            json_out.write_text(json.dumps(d, indent=2) + "\n")
        if as_json:
            typer.echo(json.dumps(d, indent=2))
        elif not quiet:
            print_summary(d)
