"""The Run page's form: which scenario fields it edits, their defaults, the choices offered,
and the call into the runner (`app.runner.run_simulation`, imported lazily).

Only values that differ from the scenario file are sent as overrides, so a form that is
submitted unchanged runs the scenario exactly as written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.ui.scenarios import get_path, parse_overrides, scenario_defaults

# form field -> dotted scenario path (the runner's override keys, see agents.scenario)
OVERRIDE_KEYS: dict[str, str] = {
    "devices": "devices.count",
    "nodes": "nodes.count",
    "mechanism": "market.mechanism",
    "device_strategy": "devices.strategy",
    "node_strategy": "nodes.strategy",
    "snapshot_every": "snapshot_every",      # the Agents page's map density
    "snapshot_devices": "snapshot_devices",
}
# strategies are {name, params} mappings: a changed name is sent as {"name": new} (defaults)
STRATEGY_FIELDS = ("device_strategy", "node_strategy")
FALLBACK_MECHANISMS = ("uniform", "mcafee", "tatonnement", "posted")


def mechanisms() -> list[str]:
    """Market mechanisms registered in `market.mechanisms` (a fixed list until it exists)."""
    try:
        from market.mechanisms import available_mechanisms

        return list(available_mechanisms())
    except Exception:  # market layer not importable yet: offer the documented names
        return list(FALLBACK_MECHANISMS)


def strategies(kind: str) -> list[str]:
    """Strategy names for "device" or "node" agents, from `agents.strategies` when present."""
    try:
        from agents.strategies import available_strategies

        return list(available_strategies(kind))
    except Exception:  # agents layer not importable: the scenario's own choice only
        return []


@dataclass
class FormDefaults:
    """The form's starting values for one scenario."""

    devices: int = 50
    nodes: int = 4
    rounds: int = 20
    mechanism: str = "uniform"
    device_strategy: str = ""
    node_strategy: str = ""
    seed: int = 0  # as the CLI's `edgemarket run --seed`
    snapshot_every: int = 10
    snapshot_devices: int = 200
    raw: dict[str, Any] = field(default_factory=dict)


def _resolved(scenario: str) -> dict[str, Any]:
    """The scenario with every default filled in (`agents.scenario`), else the raw file."""
    try:
        from agents.scenario import load_scenario

        return dict(load_scenario(scenario).model_dump(mode="json"))
    except Exception:  # invalid file or agents layer missing: the runner will say why
        return scenario_defaults(scenario)


def defaults_for(scenario: str) -> FormDefaults:
    """A scenario's values of the form fields (missing ones keep the fallbacks)."""
    data = _resolved(scenario)
    d = FormDefaults(raw=data)
    for name, path in OVERRIDE_KEYS.items():
        value = get_path(data, path)
        if name in STRATEGY_FIELDS and isinstance(value, dict):
            value = value.get("name")
        if value is not None:
            setattr(d, name, type(getattr(d, name))(value))
    if isinstance(data.get("rounds"), int):
        d.rounds = data["rounds"]
    return d


def build_overrides(defaults: FormDefaults, values: dict[str, Any], advanced: str) -> dict[str, Any]:
    """Overrides for the runner: the form fields that changed, then the advanced lines.

    Raises ValueError (naming the line) for unreadable advanced overrides.
    """
    out: dict[str, Any] = {}
    for k, v in values.items():
        if k in OVERRIDE_KEYS and v not in (None, "") and v != getattr(defaults, k):
            out[OVERRIDE_KEYS[k]] = {"name": v} if k in STRATEGY_FIELDS else v
    out.update(parse_overrides(advanced))
    return out


class RunnerMissing(RuntimeError):
    """`app.runner` is not importable (the runner is not built yet)."""


def start_run(scenario: str, overrides: dict[str, Any], *, seed: int, rounds: int, db_url: str,
              chain: bool, progress: Callable[[int, int], None]) -> Any:
    """Run a scenario through `app.runner.run_simulation`; returns its `RunSummary`."""
    try:
        from app.runner import run_simulation
    except ModuleNotFoundError as exc:
        if exc.name in ("app.runner",):
            raise RunnerMissing("the simulation runner (app/runner.py) is not available yet") from exc
        raise
    return run_simulation(scenario, overrides=overrides, seed=seed, rounds=rounds, db_url=db_url,
                          chain="anvil" if chain else "none", progress=progress)
