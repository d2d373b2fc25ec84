"""Chain tests run on a real Anvil through the reusable fixtures of ``ledger.chain.testing``.

(A top-level conftest would write ``pytest_plugins = ["ledger.chain.testing"]``; pytest only
allows that at the root, so this folder imports the fixtures instead.)
"""

from ledger.chain.testing import (  # noqa: F401  (fixtures are found by name)
    actors,
    anvil,
    chain,
    chain_contracts,
    chain_rpc_url,
    deploy_contract,
    deployed_chain,
    pytest_addoption,
    w3,
)
