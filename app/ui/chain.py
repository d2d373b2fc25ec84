"""The Ledger page's bridge to the chain layer (`ledger.chain`), imported lazily.

Reconciliation and Merkle inclusion checks need a running chain; the chain layer starts
a local Anvil (or connects to the run's JSON-RPC URL) only when one of these is asked
for. While `ledger.chain` is not importable, both report `ChainUnavailable` with a
message the page shows as an info box.
"""

from __future__ import annotations

import importlib
from typing import Any


class ChainUnavailable(RuntimeError):
    """The chain layer (or the function the page needs) is not available."""


def _function(module: str, name: str) -> Any:
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ChainUnavailable(
            f"the chain layer is not available ({module} cannot be imported: {exc}). "
            "Settlements stored by chain runs are shown above; checks against the chain need it."
        ) from exc
    fn = getattr(mod, name, None)
    if fn is None:
        raise ChainUnavailable(f"{module}.{name} does not exist in this version of the chain layer")
    return fn


def reconcile(db_url: str, run_id: int) -> Any:
    """Compare the store's settlements and balances of a run with the chain (to the wei)."""
    fn = _function("ledger.chain.reconcile", "reconcile")
    return fn(db_url=db_url, run_id=run_id)


def verify_trade(db_url: str, run_id: int, rnd: int, idx: int) -> Any:
    """Check one trade's Merkle proof against the root settled on chain for its round."""
    fn = _function("ledger.chain.merkle", "verify_trade")
    return fn(db_url=db_url, run_id=run_id, round=rnd, idx=idx)


def as_dict(result: Any) -> dict[str, Any]:
    """A JSON-able view of a chain-layer result (dataclass, object with to_dict, or dict)."""
    if isinstance(result, dict):
        return result
    if hasattr(result, "to_dict"):
        return dict(result.to_dict())
    if hasattr(result, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(result)
    return {"result": result}


def is_ok(result: Any) -> bool:
    """True when a result says the check passed (`ok`, `valid`, `matches` or a bare bool)."""
    if isinstance(result, bool):
        return result
    d = as_dict(result)
    for key in ("ok", "valid", "included", "matches", "reconciled"):
        if key in d:
            return bool(d[key])
    return False
