"""Chain tests run on a real Anvil through the fixtures of the contract-testing plugin,
``ledger.chain.pytest_plugin``: the node (``anvil``, ``chain_rpc_url``, ``w3``), the
user-facing ``chain``, ``accounts`` and ``deploy``, and the settlement contracts'
``settlement_chain``, ``settlement_actors``, ``settlement_session`` and
``settlement_contracts``, all isolated per test by the plugin's snapshot/revert.
(Importing them here, rather than relying on the plugin's entry point, keeps a plain
checkout working; pytest only allows ``pytest_plugins`` in a top-level conftest.)
"""

from ledger.chain.pytest_plugin import (  # noqa: F401  (fixtures are found by name)
    _edgemarket_isolation,
    accounts,
    anvil,
    chain,
    chain_rpc_url,
    deploy,
    edgemarket_chain,
    pytest_addoption,
    settlement_actors,
    settlement_chain,
    settlement_contracts,
    settlement_session,
    w3,
)
