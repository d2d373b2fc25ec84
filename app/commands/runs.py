"""Stored runs: list them, show one, delete one or prune many (with their chain state)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from app.errors import UserError

app = typer.Typer(no_args_is_help=True)

RUN_STATUSES = ("done", "failed", "interrupted", "running")

def _existing_store(db: str | None) -> Any:
    """The store at `db` for reading, or None when its SQLite file does not exist (a
    read-only command never creates a store)."""
    from ledger.store import RunStore, default_db_url
    from ledger.store.database import sqlite_path

    path = sqlite_path(db or default_db_url())  # read now: --data-dir may have moved it
    if path is not None and not path.exists():
        return None
    return RunStore(db)


DbOption = Annotated[str | None, typer.Option(help="SQLAlchemy URL of the run store (default: data/edgemarket.db)")]


@app.command("show")
def show(run_id: Annotated[int, typer.Argument(help="run id (see `edgemarket runs list`)")], db: DbOption = None,
         as_json: Annotated[bool, typer.Option("--json", help="print the stored summary as JSON")] = False) -> None:
    """Show a stored run's summary."""
    from app.commands.run import print_summary

    store = _existing_store(db)
    if store is None:
        raise UserError(f"no store at {db or 'data/edgemarket.db'}", where="--db")
    run = store.get_run(run_id)
    if run is None:
        raise UserError(f"no run with id {run_id}", where="RUN_ID")
    if as_json:
        typer.echo(json.dumps({"id": run.id, "status": run.status, "summary": run.summary}, indent=2))
        return
    if run.summary is None:
        Console().print(f"run {run.id} ({run.scenario}, seed {run.seed}) is {run.status}: "
                        f"{run.rounds_done}/{run.rounds_planned} rounds stored"
                        + (f"; error: {run.error}" if run.error else "")
                        + (f"; resume with `edgemarket run --resume {run.id} --db {store.url}`"
                           if run.status != "done" else ""))
        return
    print_summary(run.summary)


@app.command("delete")
def delete(run_id: Annotated[int, typer.Argument(help="run id (see `edgemarket runs list`)")], db: DbOption = None,
           yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False) -> None:
    """Delete a stored run, its rows and its local chain state file."""
    from ledger.store import RunStore

    store = RunStore(db)
    run = store.get_run(run_id)
    if run is None:
        raise UserError(f"no run with id {run_id}", where="RUN_ID")
    if not yes:
        if not typer.confirm(f"delete run {run_id} ({run.scenario}, seed {run.seed}, {run.status})?"):
            typer.echo("nothing deleted")  # answering "n" is not an error: exit 0
            return
    state = _delete(store, run)
    typer.echo(f"deleted run {run_id}" + (f" and its chain state {state}" if state else ""))


def _delete(store: Any, run: Any) -> str | None:
    """Delete a run's rows and its local chain state file; returns that file's path."""
    state = (run.chain_info or {}).get("state_file")
    store.delete_run(run.id)
    if state:
        Path(state).unlink(missing_ok=True)
        Path(state + ".good").unlink(missing_ok=True)  # the settler's last complete dump
    return state


@app.command("prune")
def prune(
    keep: Annotated[int, typer.Option(min=0, help="keep the newest N runs (of the selection)")] = 10,
    status: Annotated[str | None, typer.Option(
        help="only runs with this status: done, failed, interrupted or running")] = None,
    db: DbOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would go; delete nothing")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Delete all but the newest runs, with their rows and chain state files."""
    from ledger.store import RunStore

    if status is not None and status not in RUN_STATUSES:
        raise UserError(f"must be one of {', '.join(RUN_STATUSES)}, got {status!r}", where="--status")
    store = RunStore(db)
    runs = [r for r in store.list_runs(None) if status is None or r.status == status]
    doomed = runs[keep:]
    if not doomed:
        typer.echo(f"nothing to prune ({len(runs)} run(s), keeping {keep})")
        return
    states = [p for r in doomed if (p := (r.chain_info or {}).get("state_file"))]
    size = sum(Path(p).stat().st_size for p in states if Path(p).exists())
    ids = ", ".join(str(r.id) for r in doomed)
    what = f"{len(doomed)} run(s) ({ids}) and {len(states)} chain state file(s), {size / 1e6:.1f} MB"
    if dry_run:
        typer.echo(f"would delete {what}")
        return
    if not yes:
        if not typer.confirm(f"delete {what}?"):
            typer.echo("nothing deleted")
            return
    for r in doomed:
        _delete(store, r)
    typer.echo(f"deleted {what}")


# `runs export` and `runs list --json` live in app/commands/export.py.
from app.commands.export import register as _register_export  # noqa: E402

_register_export(app)
