"""Chain tests run on a real Anvil through the fixtures of the contract-testing plugin.

The node fixtures (``anvil``, ``chain_rpc_url``, ``w3``) and the user-facing ones
(``accounts``, ``deploy``, with per-test snapshots) come from ``ledger.chain.pytest_plugin``;
the settlement-specific ones (``chain`` = a deployed :class:`ChainSession`, ``actors``,
``deploy_contract``) from ``ledger.chain.testing``. (Importing them here, rather than
relying on the plugin's entry point, keeps a plain checkout working; pytest only allows
``pytest_plugins`` in a top-level conftest.)
"""

from ledger.chain.pytest_plugin import (  # noqa: F401  (fixtures are found by name)
    _edgemarket_isolation,
    accounts,
    anvil,
    chain_rpc_url,
    deploy,
    edgemarket_chain,
    pytest_addoption,
    w3,
)
from ledger.chain.testing import (  # noqa: F401
    actors,
    chain,
    chain_contracts,
    deploy_contract,
    deployed_chain,
)
