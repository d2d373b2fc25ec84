"""`edgemarket sweep`: run a scenario over a grid of overrides × seeds as Ray tasks.

    edgemarket sweep smart_city --grid devices.count=20,40 --grid market.mechanism=uniform,mcafee \\
        --seeds 2 [--rounds 10] [--set nodes.count=9] [--address ray://host:10001] [--resume] \\
        [--db URL] [--serial] [--chain none|anvil] [--table cells.csv]

Each cell is one ordinary run in the store, labelled ``sweep:<name>:<key=val,...>:seed=S``;
``--resume`` skips cells already done. A failing cell is reported and the others go on
(exit status 1 if any failed).
"""

from __future__ import annotations

import json

import typer

from app.errors import UserError


def _check_scenario(scenario: str) -> None:
    from agents.scenario import ScenarioError, resolve_path

    try:
        resolve_path(scenario)
    except ScenarioError as exc:
        raise UserError(str(exc)) from None


def register(cli: typer.Typer) -> None:
    """Add the top-level `sweep` command to the CLI."""

    @cli.command("sweep")
    def sweep_command(
        scenario: str = typer.Argument(..., help="Scenario name (scenarios/NAME.yaml) or path."),
        grid: list[str] = typer.Option([], "--grid", "-g",
                                       help="key=v1,v2,... dotted scenario key and its values; repeatable."),
        seeds: int = typer.Option(1, "--seeds", min=1, help="Seeds 0..N-1 per grid cell."),
        rounds: int = typer.Option(None, "--rounds", min=1, help="Rounds per run (default: the scenario's)."),
        sets: list[str] = typer.Option([], "--set", help="key=value override applied to every cell; repeatable."),
        name: str = typer.Option(None, "--name", help="Sweep name in the labels (default: scenario stem)."),
        address: str = typer.Option(None, "--address", help="Ray cluster address (default: local Ray)."),
        cpus: int = typer.Option(2, "--cpus", min=1, help="CPUs of the local Ray (one per cell at a time)."),
        resume: bool = typer.Option(False, "--resume", help="Skip cells already done in the store (matched by "
                                    "label: give a new --name when --set or --rounds change)."),
        serial: bool = typer.Option(False, "--serial", help="Run the cells one by one, without Ray."),
        db: str = typer.Option(None, "--db", help="Run store URL (default: <data dir>/edgemarket.db)."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
        chain: str = typer.Option("none", "--chain", help="none, or anvil: each cell settles on an Anvil "
                                  "of its own (a shared chain is refused: parallel cells would race "
                                  "for the operator's nonces)."),
        table: str = typer.Option(None, "--table", help="Also write the tidy table (cell parameters, "
                                  "metrics with confidence intervals over seeds) to this .csv or .parquet."),
    ) -> None:
        """Run every grid combination × seed (Ray tasks), one stored run per cell."""
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        from app.overrides import parse_assignments
        from app.sweep import parse_grid, run_sweep

        _check_scenario(scenario)
        parsed = parse_grid(grid)
        base = parse_assignments(sets)
        from rich.markup import escape

        # Labels hold "sweep:factory:..." - rich would read ":factory:" as an emoji code.
        console = Console(stderr=True, emoji=False)
        with Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, disable=as_json) as bar:
            task = bar.add_task("cells", total=None)

            def on_outcome(o, done, total):  # type: ignore[no-untyped-def]
                bar.update(task, completed=done, total=total)
                if as_json:
                    return
                if o.status == "done" and o.summary:
                    eff = o.summary.get("efficiency_mean")
                    bar.console.print(f"[green]done[/]    {escape(o.label)}  run {o.run_id}  "
                                      f"efficiency {eff:.3f}  ({o.wall_s:.1f}s)", soft_wrap=True)
                elif o.status == "skipped":
                    bar.console.print(f"[dim]skipped[/] {escape(o.label)}  (already done)", soft_wrap=True)
                else:
                    bar.console.print(f"[red]failed[/]  {escape(o.label)}: {escape(str(o.error))}", soft_wrap=True)

            report = run_sweep(scenario, parsed, seeds, db_url=db, rounds=rounds, overrides=base, name=name,
                               resume=resume, parallel=not serial, address=address, num_cpus=cpus,
                               on_outcome=on_outcome, chain=chain)
        if as_json:
            typer.echo(json.dumps(report.to_dict(), default=str))
        else:
            typer.echo(f"sweep {report.name}: {report.count('done')} done, {report.count('failed')} failed, "
                       f"{report.count('skipped')} skipped of {len(report.outcomes)} cells in "
                       f"{report.wall_s:.1f}s ({report.mode}, {report.workers:g} workers); store {report.db_url}")
        if table:
            from app.sweep_table import write_table

            write_table(report.db_url, report.name, table)
            if not as_json:
                typer.echo(f"tidy table: {table}")
        if report.failed:
            raise SystemExit(1)  # some cells failed (typer.Exit is swallowed in non-standalone mode)
