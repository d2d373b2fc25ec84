"""Parameter sweeps over :func:`app.runner.run_simulation`, serially or as Ray tasks.

A sweep is the cartesian product of a grid of dotted-key scenario overrides
(``{"devices.count": [20, 40], "market.mechanism": ["uniform", "tatonnement"]}``) and a
list of seeds. Every combination is a *cell*, run as one ordinary run of the run store and
identified by its label ``sweep:<name>:<key=val,...>:seed=S`` (``Run.label``), so that
``resume=True`` skips cells already done.

Workers (Ray tasks, one CPU each; local Ray by default, ``address`` for a cluster) call the
same :func:`app.runner.run_simulation` as ``edgemarket run`` and write their run to the store
themselves: the store's SQLite engine uses WAL and a busy timeout, so concurrent writers
queue instead of failing (on a cluster, pass a store URL every worker can reach, e.g.
PostgreSQL). A cell that raises is reported as *failed* with its one-line error; the other
cells go on.

    report = run_sweep("smart_city", {"devices.count": [20, 40]}, seeds=[0, 1], db_url=url)
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from app.errors import UserError
from app.overrides import parse_value

#: Longest label the store keeps (``Run.label`` is String(200)).
MAX_LABEL = 200
#: Where sweep cells may settle: nowhere, or each on an Anvil of its own.
SWEEP_CHAINS = ("none", "anvil")


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Cell:
    """One run of a sweep: scenario overrides from the grid, a seed and its label."""

    index: int
    overrides: dict[str, Any]
    seed: int
    label: str

    def describe(self) -> str:
        """``key=val,...`` (the grid part of the label)."""
        return _format_overrides(self.overrides)


@dataclass
class CellOutcome:
    """What became of one cell: ``done`` (with the run summary), ``failed`` or ``skipped``."""

    label: str
    seed: int
    overrides: dict[str, Any]
    status: str
    run_id: int | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None
    wall_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields."""
        return asdict(self)


@dataclass
class SweepReport:
    """All the cells of a sweep, in plan order, and how long it took."""

    name: str
    scenario: str
    outcomes: list[CellOutcome]
    wall_s: float
    mode: str  # "ray" or "serial"
    workers: float = 0.0
    db_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def count(self, status: str) -> int:
        """Number of cells with ``status``."""
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> list[CellOutcome]:
        """The failed cells."""
        return [o for o in self.outcomes if o.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able report."""
        return {
            "name": self.name, "scenario": self.scenario, "mode": self.mode,
            "workers": self.workers, "wall_s": round(self.wall_s, 3),
            "cells": len(self.outcomes), "done": self.count("done"),
            "failed": self.count("failed"), "skipped": self.count("skipped"),
            "outcomes": [o.to_dict() for o in self.outcomes], **self.extra,
        }


def _format_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str | int | float) or v is None:
        return str(v)
    return yaml.safe_dump(v, default_flow_style=True).strip()


def _format_overrides(overrides: dict[str, Any]) -> str:
    return ",".join(f"{k}={_format_value(v)}" for k, v in overrides.items()) or "-"


def cell_label(name: str, overrides: dict[str, Any], seed: int) -> str:
    """``sweep:<name>:<key=val,...>:seed=S`` (hashed grid part if it would be too long)."""
    grid = _format_overrides(overrides)
    label = f"sweep:{name}:{grid}:seed={seed}"
    if len(label) > MAX_LABEL:
        digest = hashlib.sha1(grid.encode()).hexdigest()[:16]
        label = f"sweep:{name[:120]}:h{digest}:seed={seed}"
    return label


def parse_grid(specs: Iterable[str]) -> dict[str, list[Any]]:
    """``["devices.count=20,40", "market.mechanism=uniform"]`` -> grid dict (UserError if bad)."""
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--grid {spec!r}: expected key=v1,v2,...")
        if any(not part for part in key.split(".")):
            raise UserError(f"--grid {spec!r}: empty path component in {key!r}")
        if key in grid:
            raise UserError(f"--grid {key}: given twice")
        items = [parse_value(v) for v in values.split(",")]
        if not values.strip() or any(v == "" for v in items):
            raise UserError(f"--grid {spec!r}: empty value")
        grid[key] = items
    return grid


def plan_cells(name: str, grid: dict[str, Sequence[Any]], seeds: Sequence[int]) -> list[Cell]:
    """Every grid combination × seed, in a fixed order (grid combos outer, seeds inner)."""
    keys = list(grid)
    combos = list(itertools.product(*(list(grid[k]) for k in keys))) if keys else [()]
    cells: list[Cell] = []
    for combo in combos:
        overrides = dict(zip(keys, combo, strict=True))
        for seed in seeds:
            cells.append(Cell(index=len(cells), overrides=overrides, seed=int(seed),
                              label=cell_label(name, overrides, int(seed))))
    labels = [c.label for c in cells]
    if len(set(labels)) != len(labels):
        raise UserError("sweep: two cells have the same label (repeated grid values?)")
    return cells


def sweep_name(scenario: str | Path, name: str | None = None) -> str:
    """The sweep's name: given, or the scenario's file stem."""
    return name or Path(str(scenario)).stem


# --------------------------------------------------------------------------- running


def _one_line(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    text = msg[0] if msg else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_cell(scenario: str, cell: Cell, db_url: str | None, rounds: int | None,
             base_overrides: dict[str, Any] | None = None, chain: str = "none") -> CellOutcome:
    """Run one cell through :func:`app.runner.run_simulation`; never raises (failed outcome).

    ``chain="anvil"`` settles the cell on an Anvil of its own (started on a free port and
    stopped by the run, its state file named after the run), so parallel cells never share
    a chain, a nonce sequence or contract addresses."""
    from app import runner

    t0 = time.perf_counter()
    overrides = {**(base_overrides or {}), **cell.overrides}
    out = CellOutcome(label=cell.label, seed=cell.seed, overrides=cell.overrides, status="failed")
    try:
        summary = runner.run_simulation(scenario, overrides=overrides, seed=cell.seed,
                                        rounds=rounds, db_url=db_url, chain=chain,
                                        label=cell.label)
        out.status = "done"
        out.run_id = int(summary.run_id)
        out.summary = summary.deterministic_dict()
    except Exception as exc:  # a failed cell is reported; the sweep goes on
        out.error = _one_line(exc)
    out.wall_s = round(time.perf_counter() - t0, 3)
    return out


def done_labels(db_url: str | None, name: str) -> set[str]:
    """Labels of this sweep's cells already *done* in the store."""
    from sqlalchemy import select

    from ledger.store import Run, RunStore

    store = RunStore(db_url)
    prefix = f"sweep:{name}:"
    with store.engine.connect() as c:
        rows = c.execute(select(Run.label).where(Run.label.startswith(prefix, autoescape=True),
                                                 Run.status == "done")).scalars().all()
    store.engine.dispose()
    return set(rows)


OnOutcome = Callable[[CellOutcome, int, int], None]


def run_sweep(
    scenario: str | Path,
    grid: dict[str, Sequence[Any]],
    seeds: int | Sequence[int] = 1,
    *,
    db_url: str | None = None,
    rounds: int | None = None,
    overrides: dict[str, Any] | None = None,
    name: str | None = None,
    resume: bool = False,
    parallel: bool = True,
    address: str | None = None,
    num_cpus: int = 2,
    on_outcome: OnOutcome | None = None,
    chain: str = "none",
) -> SweepReport:
    """Run every cell of the grid × seeds; return the outcomes in plan order.

    ``parallel=True`` runs cells as Ray tasks (local Ray with ``num_cpus`` CPUs, or the
    cluster at ``address``), ``False`` one after the other in this process. ``on_outcome``
    is called as each cell completes with (outcome, completed, total). ``resume`` skips cells
    whose label is already *done* in the store at ``db_url``. ``chain`` is "none" or
    "anvil" (one local chain per cell); a shared JSON-RPC URL is refused: parallel cells
    would send from the same operator account and race for its nonces.
    """
    if chain not in SWEEP_CHAINS:
        raise UserError(f"must be one of {', '.join(SWEEP_CHAINS)}, got {chain!r} (a shared chain "
                        "would have parallel cells race for the operator's nonces)", where="--chain")
    scenario = str(scenario)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise UserError("sweep: at least one seed is needed")
    sname = sweep_name(scenario, name)
    cells = plan_cells(sname, grid, seed_list)
    # Open the store once here: creating/migrating the schema must not race between workers.
    from ledger.store import RunStore

    store = RunStore(db_url)
    resolved_url = store.engine.url.render_as_string(hide_password=False)
    store.engine.dispose()
    already = done_labels(resolved_url, sname) if resume else set()
    outcomes: dict[int, CellOutcome] = {}
    todo: list[Cell] = []
    for c in cells:
        if c.label in already:
            outcomes[c.index] = CellOutcome(label=c.label, seed=c.seed, overrides=c.overrides,
                                            status="skipped")
        else:
            todo.append(c)
    total = len(cells)
    completed = len(outcomes)
    for o in list(outcomes.values()):
        if on_outcome:
            on_outcome(o, completed, total)
    t0 = time.perf_counter()
    workers = 1.0
    if parallel and todo:
        from agents.learning.ray_session import ray_session

        with ray_session(address=address, num_cpus=num_cpus) as info:
            workers = info.num_cpus
            for cell, outcome in _ray_map(scenario, todo, resolved_url, rounds, overrides, chain):
                completed += 1
                outcomes[cell.index] = outcome
                if on_outcome:
                    on_outcome(outcome, completed, total)
    else:
        for cell in todo:
            outcome = run_cell(scenario, cell, resolved_url, rounds, overrides, chain)
            completed += 1
            outcomes[cell.index] = outcome
            if on_outcome:
                on_outcome(outcome, completed, total)
    return SweepReport(name=sname, scenario=scenario,
                       outcomes=[outcomes[c.index] for c in cells],
                       wall_s=time.perf_counter() - t0, mode="ray" if parallel else "serial",
                       workers=workers, db_url=store.url)


def _ray_map(scenario: str, cells: list[Cell], db_url: str, rounds: int | None,
             overrides: dict[str, Any] | None, chain: str = "none") -> Iterable[tuple[Cell, CellOutcome]]:
    """Submit one Ray task per cell; yield (cell, outcome) as they complete."""
    import ray

    task = ray.remote(num_cpus=1, max_retries=0)(run_cell)
    pending = {task.remote(scenario, c, db_url, rounds, overrides, chain): c for c in cells}
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            cell = pending.pop(ref)
            try:
                outcome = ray.get(ref)
            except Exception as exc:  # the worker itself died (OOM, crash): report the cell
                outcome = CellOutcome(label=cell.label, seed=cell.seed, overrides=cell.overrides,
                                      status="failed", error=_one_line(exc))
            yield cell, outcome
