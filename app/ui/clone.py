""""Clone this run": the Run page's form values that reproduce a stored run.

The form's own fields (scenario, devices, nodes, rounds, seed, mechanism, strategies) take
the run's values; every other field where the run's stored scenario differs from the
scenario file (with defaults) becomes a line of the advanced overrides. Submitting the form
unchanged then runs the same scenario with the same seed.
"""

from __future__ import annotations

import json
from typing import Any

from app.ui.run_form import OVERRIDE_KEYS, STRATEGY_FIELDS, _resolved

#: Session-state key holding the values to put into the form on its next draw.
CLONE_KEY = "clone_values"


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict) or not d:
        return {prefix.rstrip("."): d} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}{k}."))
    return out


def _text(v: Any) -> str:
    # JSON is YAML: the advanced-overrides parser (app.overrides.parse_value) reads it back
    # with its type (a string stays quoted, so "50" does not come back as 50).
    return json.dumps(v)


def clone_values(info: dict[str, Any], scenario_names: list[str]) -> dict[str, Any]:
    """Form values for the run `info` (a `runs` row): scenario, seed, rounds, the form fields
    and `advanced` (one `path = value` line per other difference from the scenario file)."""
    stored = info["scenario_json"]
    scenario = info["scenario"] if info["scenario"] in scenario_names else stored.get("name", "")
    if scenario not in scenario_names:
        scenario = "smart_city" if "smart_city" in scenario_names else scenario_names[0]
    base = _resolved(scenario)
    mine, theirs = _flatten(stored), _flatten(base)
    form_paths = {p for p in OVERRIDE_KEYS.values()}
    values: dict[str, Any] = {"scenario": scenario, "seed": int(info["seed"]),
                              "rounds": int(info["rounds_planned"] or stored.get("rounds") or 1)}
    for name, path in OVERRIDE_KEYS.items():
        v: Any = stored
        for part in path.split("."):
            v = v.get(part) if isinstance(v, dict) else None
        values[name] = (v or {}).get("name") if name in STRATEGY_FIELDS else v
    lines = []
    for path in sorted(set(mine) | set(theirs)):
        if path in ("name", "description", "rounds") or path in form_paths:
            continue
        if any(path == f"{p}.name" for p in ("devices.strategy", "nodes.strategy")):
            continue  # the strategy selectboxes carry the names
        if mine.get(path) != theirs.get(path) and path in mine:
            lines.append(f"{path} = {_text(mine[path])}")
    values["advanced"] = "\n".join(lines)
    return values
