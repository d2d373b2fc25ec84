"""The chain side of the ledger: compile, run Anvil, deploy, settle, verify, reconcile.

Main entry points (imported lazily, so ``import ledger.chain`` is cheap):

- :class:`ChainSession` (``ledger.chain.session``): deploy/attach, fund, settle rounds,
  query balances and events, verify trades.
- :class:`AnvilProcess` (``ledger.chain.anvil``): a local node owned by this process.
- :func:`reconcile` (``ledger.chain.reconcile``): expected ledger vs events vs state.
- :class:`ContractRevert` (``ledger.chain.errors``): reverts decoded to error names.
- ``ledger.chain.pytest_plugin``: the pytest plugin for testing contracts, your own
  (``chain``, ``accounts``, ``deploy``; objects in ``ledger.chain.contractkit``) and the
  settlement contracts (``settlement_chain``, ``settlement_actors``, ...); entry point
  ``pytest11``. Helpers to import in tests: ``ledger.chain.testing``.

See docs/contracts.md for the contracts, units and gas figures.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "AnvilProcess": "ledger.chain.anvil",
    "ChainSession": "ledger.chain.session",
    "SettlementReceipt": "ledger.chain.session",
    "SettlementConflict": "ledger.chain.session",
    "ChainEvent": "ledger.chain.session",
    "Deployment": "ledger.chain.deploy",
    "ContractRevert": "ledger.chain.errors",
    "ChainError": "ledger.chain.errors",
    "BatchError": "ledger.chain.encoding",
    "reconcile": "ledger.chain.reconcile",
    "ReconcileReport": "ledger.chain.reconcile",
    "agent_address": "ledger.chain.accounts",
    "load_artifacts": "ledger.chain.compiler",
    "TradeTree": "ledger.chain.merkle",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ledger.chain' has no attribute {name!r}")
    return getattr(import_module(module), name)
