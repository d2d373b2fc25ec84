"""The plugin's fixtures for user contracts and for the settlement contracts share one
Anvil and one snapshot/revert per test."""

from __future__ import annotations

import pytest

from ledger.chain.paths import REPO_ROOT
from ledger.chain.session import ChainSession

pytestmark = pytest.mark.chain

COUNTER = REPO_ROOT / "examples" / "contracts" / "src" / "Counter.sol"


@pytest.fixture(scope="module")
def alice_nonce(accounts) -> int:
    return int(accounts.alice.nonce)


def test_one_node_for_both_kinds_of_fixture(
    settlement_chain: ChainSession, accounts, deploy, w3, alice_nonce
) -> None:
    counter = deploy(COUNTER, 5, sender=accounts.alice)
    counter.increment(2, sender=accounts.alice)
    assert counter.count() == 7 and accounts.alice.nonce == alice_nonce + 2
    assert accounts.alice.chain.rpc_url == settlement_chain.rpc_url == w3.provider.endpoint_uri
    assert settlement_chain.is_settled(1, 0) is False  # the settlement contracts are there too


def test_plugin_changes_were_rolled_back(accounts, alice_nonce) -> None:
    assert accounts.alice.nonce == alice_nonce  # the deploy and increment are gone
