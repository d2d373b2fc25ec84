"""Load user plug-ins (strategies, mechanisms) before scenarios name them.

A plug-in is any importable module that registers classes with
`agents.strategies.register_strategy` or `market.mechanisms.register_mechanism`. It is
found through the `EDGEMARKET_PLUGINS` environment variable (comma-separated module names)
or the `edgemarket.plugins` entry-point group of an installed package.
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib.metadata import entry_points

from app.errors import UserError

_loaded: set[str] = set()


def _import_plugin(name: str) -> None:
    """Import a plug-in module; one next to where the user runs `edgemarket` is found too.

    The `edgemarket` console script, unlike `python -m`, does not put the current folder
    on sys.path, so `EDGEMARKET_PLUGINS=my_plugins` would need `PYTHONPATH=.`; a module
    that is not importable otherwise is looked up in the current folder (appended last, so
    it never shadows an installed package).
    """
    try:
        importlib.import_module(name)
        return
    except ModuleNotFoundError as exc:
        top = name.split(".")[0]
        if exc.name not in (name, top) or os.getcwd() in sys.path:
            raise
    sys.path.append(os.getcwd())
    importlib.import_module(name)


def load_plugins() -> list[str]:
    """Import every configured plug-in once; returns the module names loaded by this call."""
    names = [n.strip() for n in os.environ.get("EDGEMARKET_PLUGINS", "").split(",") if n.strip()]
    names += [ep.value.split(":")[0] for ep in entry_points(group="edgemarket.plugins")]
    new = []
    for name in names:
        if name in _loaded:
            continue
        try:
            _import_plugin(name)
        except ImportError as exc:
            raise UserError(f"cannot import plug-in {name!r}: {exc}", where="EDGEMARKET_PLUGINS") from None
        except TypeError as exc:  # register_strategy refused a class (e.g. a bid() signature)
            raise UserError(f"plug-in {name!r}: {exc}", where="EDGEMARKET_PLUGINS") from None
        _loaded.add(name)
        new.append(name)
    return new
