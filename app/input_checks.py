"""Checks of user input that the scenario schema and the CLI types do not make.

Every check raises :class:`app.errors.UserError` naming the field, before anything is
simulated or stored, so a bad input never leaves a half-written run behind.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from app.errors import UserError

# No quantity of a scenario (metres, seconds, watts, credits, counts) needs more: larger
# values overflow the grid, LP and fixed-point arithmetic downstream instead of meaning
# anything physical.
MAX_SCENARIO_NUMBER = 1e12
MAX_SEED = 2**63 - 1  # the store keeps seeds as signed 64-bit integers


def check_scenario_numbers(data: Any, path: str = "") -> None:
    """Every number in a scenario (its JSON dump) is finite and at most 1e12 in size."""
    if isinstance(data, dict):
        for k, v in data.items():
            check_scenario_numbers(v, f"{path}.{k}" if path else str(k))
    elif isinstance(data, list | tuple):
        for i, v in enumerate(data):
            check_scenario_numbers(v, f"{path}[{i}]")
    elif isinstance(data, bool):
        return
    elif isinstance(data, int | float):
        if not math.isfinite(data):
            raise UserError(f"must be a finite number, got {data}", where=path)
        if abs(data) > MAX_SCENARIO_NUMBER:
            raise UserError(f"{data:g} is out of range (at most {MAX_SCENARIO_NUMBER:g} in size)", where=path)


def check_seed(seed: int) -> None:
    if not 0 <= int(seed) <= MAX_SEED:
        raise UserError(f"must be in 0..{MAX_SEED}, got {seed}", where="--seed")


def check_output_path(path: Path | None, where: str = "--json") -> None:
    """An output file's folder must exist (checked before a long simulation, not after)."""
    if path is None or str(path) == "-":
        return
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a file", where=where)
    if not path.parent.is_dir():
        raise UserError(f"folder {path.parent} does not exist", where=where)
