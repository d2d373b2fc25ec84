"""The contract-testing plugin's fixtures, for this folder's tests on a real Anvil.

Once edgemarket is installed the plugin is active by its entry point; importing the
fixtures here keeps this folder working from a plain checkout too (a conftest's fixture of
the same name takes precedence, so nothing runs twice).
"""

from ledger.chain.pytest_plugin import (  # noqa: F401  (fixtures are found by name)
    _edgemarket_isolation,
    accounts,
    anvil,
    chain,
    chain_rpc_url,
    deploy,
    edgemarket_chain,
    w3,
)
