"""Stored runs: list them, show one."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.errors import UserError

app = typer.Typer(no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option(help="SQLAlchemy URL of the run store (default: data/edgemarket.db)")]


@app.command("list")
def list_runs(db: DbOption = None, limit: Annotated[int, typer.Option(help="newest N runs")] = 50) -> None:
    """List stored runs, newest first."""
    from ledger.store import RunStore

    t = Table()
    for col in ("id", "scenario", "seed", "mechanism", "rounds", "status", "chain", "created", "wall s", "label"):
        t.add_column(col)
    for r in RunStore(db).list_runs(limit):
        t.add_row(str(r.id), r.scenario, str(r.seed), r.mechanism, f"{r.rounds_done}/{r.rounds_planned}",
                  r.status, r.chain, r.created_at.strftime("%Y-%m-%d %H:%M:%S"), f"{r.wall_s:.2f}", r.label)
    Console().print(t)


@app.command("show")
def show(run_id: Annotated[int, typer.Argument(help="run id (see `edgemarket runs list`)")], db: DbOption = None,
         as_json: Annotated[bool, typer.Option("--json", help="print the stored summary as JSON")] = False) -> None:
    """Show a stored run's summary."""
    from app.commands.run import print_summary
    from ledger.store import RunStore

    run = RunStore(db).get_run(run_id)
    if run is None:
        raise UserError(f"no run with id {run_id}", where="RUN_ID")
    if as_json:
        typer.echo(json.dumps({"id": run.id, "status": run.status, "summary": run.summary}, indent=2))
        return
    if run.summary is None:
        Console().print(f"run {run.id} ({run.scenario}, seed {run.seed}) is {run.status}: "
                        f"{run.rounds_done}/{run.rounds_planned} rounds stored"
                        + (f"; error: {run.error}" if run.error else "")
                        + (f"; resume with `edgemarket run --resume {run.id}`" if run.status != "done" else ""))
        return
    print_summary(run.summary)


@app.command("delete")
def delete(run_id: Annotated[int, typer.Argument(help="run id (see `edgemarket runs list`)")], db: DbOption = None,
           yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False) -> None:
    """Delete a stored run, its rows and its local chain state file."""
    from pathlib import Path

    from ledger.store import RunStore

    store = RunStore(db)
    run = store.get_run(run_id)
    if run is None:
        raise UserError(f"no run with id {run_id}", where="RUN_ID")
    if not yes:
        typer.confirm(f"delete run {run_id} ({run.scenario}, seed {run.seed}, {run.status})?", abort=True)
    state = (run.chain_info or {}).get("state_file")
    store.delete_run(run_id)
    if state:
        Path(state).unlink(missing_ok=True)
    typer.echo(f"deleted run {run_id}" + (f" and its chain state {state}" if state else ""))
