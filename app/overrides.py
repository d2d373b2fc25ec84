"""Scenario overrides typed by users: `KEY=VALUE` options and `field.path = value` lines.

One parser for the CLI (`--set`, `--learn`, sweep grids) and the app's form, so a value
means the same everywhere: YAML scalars (`50` int, `0.5` float, `true`, plain text).
"""

from __future__ import annotations

from typing import Any

import yaml

from app.errors import UserError


def parse_value(text: str) -> Any:
    """A value typed by a user, as a YAML scalar; unreadable YAML stays text."""
    text = text.strip()
    try:
        return yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        return text


def split_assignment(item: str) -> tuple[str, str] | None:
    """`key=value` -> (key, raw value); None when it is not an assignment."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key or " " in key:
        return None
    return key, raw


def parse_assignments(items: list[str] | None, option: str = "--set") -> dict[str, Any]:
    """`["devices.count=50", ...]` -> {"devices.count": 50, ...}; UserError naming `option`."""
    out: dict[str, Any] = {}
    for item in items or []:
        pair = split_assignment(item)
        if pair is None:
            raise UserError(f"expected KEY=VALUE, got {item!r}", where=option)
        out[pair[0]] = parse_value(pair[1])
    return out


def parse_lines(text: str, what: str = "overrides") -> dict[str, Any]:
    """`field.path = value` lines (`#` comments, blank lines skipped); ValueError naming the line."""
    out: dict[str, Any] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        pair = split_assignment(line)
        if pair is None:
            raise ValueError(f"{what}, line {n}: expected `field.path = value`, got {raw.strip()!r}")
        out[pair[0]] = parse_value(pair[1]) if pair[1].strip() else None
    return out
