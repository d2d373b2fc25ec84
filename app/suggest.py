"""Did-you-mean for names a user types: scenarios, mechanisms and strategies.

The registries raise "unknown mechanism 'unifrom' (available: ...)"-style errors; the CLI
passes every user-facing message through `with_suggestion`, which appends the closest
known names (difflib's ratio >= 0.6, as in click's own command suggestions).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from difflib import get_close_matches

# (pattern capturing the name typed, source of the known names)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"scenario (?P<name>[^\s:]+): unknown scenario"), "scenario"),
    (re.compile(r"unknown mechanism '(?P<name>[^']+)'"), "mechanism"),
    (re.compile(r"unknown (?:(?P<kind>node|device) )?strategy '(?P<name>[^']+)'"), "strategy"),
)


def _known(what: str, kind: str | None) -> list[str]:
    sources: dict[str, Callable[[], list[str]]] = {
        "scenario": lambda: __import__("agents.scenario", fromlist=["x"]).available_scenarios(),
        "mechanism": lambda: __import__("market.mechanisms", fromlist=["x"]).available_mechanisms(),
        "strategy": lambda: __import__("agents.strategies", fromlist=["x"]).available_strategies(kind),
    }
    try:
        return list(sources[what]())
    except Exception:  # a suggestion must never hide the error it decorates
        return []


def suggestions(message: str) -> list[str]:
    """The known names closest to the unknown one named in `message` (may be empty)."""
    for pattern, what in _PATTERNS:
        m = pattern.search(message)
        if m:
            name = m.group("name")
            kind = m.groupdict().get("kind")
            return get_close_matches(name, _known(what, kind), n=3, cutoff=0.6)
    return []


def with_suggestion(message: str) -> str:
    """`message` plus "; did you mean 'x'?" when an unknown name has close known ones."""
    close = suggestions(message)
    if not close or "did you mean" in message:
        return message
    return f"{message}; did you mean {' or '.join(repr(c) for c in close)}?"
