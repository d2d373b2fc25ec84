"""Load user plug-ins (strategies, mechanisms) before scenarios name them.

A plug-in is any importable module that registers classes with
`agents.strategies.register_strategy` or `market.mechanisms.register_mechanism`. It is
found through the `EDGEMARKET_PLUGINS` environment variable (comma-separated module names)
or the `edgemarket.plugins` entry-point group of an installed package.
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points

from app.errors import UserError

_loaded: set[str] = set()


def load_plugins() -> list[str]:
    """Import every configured plug-in once; returns the module names loaded by this call."""
    names = [n.strip() for n in os.environ.get("EDGEMARKET_PLUGINS", "").split(",") if n.strip()]
    names += [ep.value.split(":")[0] for ep in entry_points(group="edgemarket.plugins")]
    new = []
    for name in names:
        if name in _loaded:
            continue
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise UserError(f"cannot import plug-in {name!r}: {exc}", where="EDGEMARKET_PLUGINS") from None
        _loaded.add(name)
        new.append(name)
    return new
