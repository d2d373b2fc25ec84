"""The scenario files offered by the Run page (scenarios/*.yaml) and their defaults.

Reading a file here only fills the form; validation is the runner's job
(`app.runner.run_simulation`), whose message the page shows as is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from app.overrides import parse_lines

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


def scenario_names(directory: Path = SCENARIO_DIR) -> list[str]:
    """Names of the ready scenarios (file stems), sorted."""
    return sorted(p.stem for p in directory.glob("*.yaml"))


def scenario_defaults(name: str, directory: Path = SCENARIO_DIR) -> dict[str, Any]:
    """The raw mapping of a scenario file ({} when unreadable: the runner will say why)."""
    try:
        data = yaml.safe_load((directory / f"{name}.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def get_path(data: dict[str, Any], dotted: str, default: Any = None) -> Any:
    """`data["a"]["b"]` for "a.b", or `default` when a part is missing."""
    cur: Any = data
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


def parse_overrides(text: str) -> dict[str, Any]:
    """`field.path = value` lines (YAML scalars; `#` comments) to an overrides mapping.

    Raises ValueError naming the line for anything else.
    """
    return parse_lines(text, "advanced overrides")
