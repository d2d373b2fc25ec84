"""`edgemarket runs export` and `edgemarket runs list`: get runs out of the store.

    edgemarket runs export 3 --format parquet --out results/run3
    edgemarket runs list --json

Registered into the `runs` group by `register(app)` (see app/commands/runs.py). `--json`
means what it means on every command: the same information as one JSON document on
stdout, and nothing else there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from app.errors import UserError

DbOption = Annotated[str | None, typer.Option(
    help="SQLAlchemy URL of the run store (default: <data dir>/edgemarket.db)")]
JsonOption = Annotated[bool, typer.Option("--json", help="print one JSON document on stdout instead of a table")]

# Columns of `runs list`: (header, width cap). Long scenario paths and labels are cut
# with an ellipsis so the table fits in 80 columns; `--json` has the full values.
_LIST_COLUMNS = ("id", "scenario", "seed", "mechanism", "rounds", "status", "chain", "created", "wall s")


def _run_record(r: Any) -> dict[str, Any]:
    return {"id": r.id, "scenario": r.scenario, "seed": r.seed, "mechanism": r.mechanism,
            "rounds_done": r.rounds_done, "rounds_planned": r.rounds_planned, "status": r.status,
            "chain": r.chain, "created_at": r.created_at.isoformat(timespec="seconds"),
            "wall_s": round(float(r.wall_s), 3), "label": r.label}


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def list_runs(db: DbOption = None, limit: Annotated[int, typer.Option(min=1, help="newest N runs")] = 50,
              as_json: JsonOption = False) -> None:
    """List stored runs, newest first (fits in 80 columns; --json has every field)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from app.commands.runs import _existing_store

    store = _existing_store(db)  # a read-only command never creates a store
    if store is None and not as_json:
        typer.echo(f"no runs: no store at {db or 'the data folder (edgemarket.db)'}")
        return
    runs = [] if store is None else store.list_runs(limit)
    if as_json:
        typer.echo(json.dumps([_run_record(r) for r in runs], indent=2))
        return
    # Chain URLs and YAML paths are long: show what tells runs apart, cut the rest.
    t = Table(box=None, pad_edge=False, padding=(0, 1))
    for col in _LIST_COLUMNS:
        t.add_column(col, justify="right" if col in ("id", "seed", "rounds", "wall s") else "left",
                     no_wrap=True)
    for r in runs:
        chain = "anvil" if r.chain == "anvil" else ("none" if r.chain == "none" else "rpc")
        t.add_row(str(r.id), escape(_short(Path(r.scenario).stem if r.scenario.endswith((".yaml", ".yml"))
                                           else r.scenario, 12)),
                  str(r.seed), escape(_short(r.mechanism, 11)), f"{r.rounds_done}/{r.rounds_planned}",
                  r.status, chain, r.created_at.strftime("%m-%d %H:%M"), f"{r.wall_s:.1f}")
    Console(width=80).print(t)


def export(
    run_id: Annotated[int, typer.Argument(help="run id (see `edgemarket runs list`)")],
    fmt: Annotated[str, typer.Option("--format", help="parquet (through pyarrow) or csv")] = "parquet",
    out: Annotated[Path | None, typer.Option(help="folder to write (default: <data dir>/exports/run-<id>)")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write every table of a run (Parquet or CSV) and a manifest.json to a folder."""
    from ledger.chain.paths import data_dir
    from ledger.store.export import FORMATS, ExportError, export_run

    if fmt not in FORMATS:
        raise UserError(f"must be one of {', '.join(FORMATS)}, got {fmt!r}", where="--format")
    target = out if out is not None else data_dir("exports") / f"run-{run_id}"
    try:
        paths = export_run(db, run_id, target, fmt)
    except ExportError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror or exc}", where="--out") from None
    if as_json:
        typer.echo(json.dumps({"run_id": run_id, "out": str(target), "format": fmt,
                               "files": [str(p) for p in paths]}, indent=2))
        return
    typer.echo(f"wrote {len(paths) - 1} tables and manifest.json of run {run_id} to {target}")


def register(app: typer.Typer) -> None:
    """Add `export` to the `runs` group and make `list` this module's (with --json)."""
    # The group's older `list` (no --json, wide cells) is replaced, not shadowed: click
    # keeps one command per name, but dropping it keeps --help free of a duplicate.
    app.registered_commands = [c for c in app.registered_commands
                               if (c.name or getattr(c.callback, "__name__", "")) not in ("list", "list_runs")]
    app.command("list")(list_runs)
    app.command("export")(export)
