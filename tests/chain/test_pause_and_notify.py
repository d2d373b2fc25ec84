"""Two loose ends of issue 10, as designed and documented in docs/contracts.md:

- the token's pause is the system's emergency stop: it halts every token transfer, so a
  round that slashes a stake or pays a fee waits (reverts ``EnforcedPause``) until the token
  is unpaused, while the registry's own pause never stops slashing;
- every settled round notifies the incentives pool, also one with neither fee nor
  contributions, so the per-round reward emission counts every round.
"""

from __future__ import annotations

import pytest

from ledger.chain.session import ChainSession
from ledger.chain.testing import expect_revert

pytestmark = pytest.mark.chain

C = 10**6
PRICES = [1.0, 1.0, 1.0, 1.0]


@pytest.fixture
def market(settlement_chain: ChainSession) -> ChainSession:
    """Buyers 1, 2 with 100 credits; node 9 staked with 50 credits."""
    settlement_chain.register_participants([1, 2], 100.0, node_ids=[9], stakes=50.0)
    return settlement_chain


def test_token_pause_holds_slashing_and_fee_rounds_until_unpaused(market: ChainSession) -> None:
    market.transact("token", "pause")
    with expect_revert("EnforcedPause"):
        market.settle_round(3, 0, {}, PRICES, None, violations=[(9, 1, 10.0)])
    with expect_revert("EnforcedPause"):
        market.settle_round(3, 1, {1: -1.0}, PRICES, None, fee_credits=1.0)
    assert not market.is_settled(3, 0) and not market.is_settled(3, 1)
    assert market.stakes_of([9]) == {9: 50 * C}
    # a round that moves no token (internal balances only) still settles
    market.settle_round(3, 2, {1: -1.0, 2: 1.0}, PRICES, None)
    market.transact("token", "unpause")
    market.settle_round(3, 0, {}, PRICES, None, violations=[(9, 1, 10.0)])
    market.settle_round(3, 1, {1: -1.0}, PRICES, None, fee_credits=1.0)
    assert market.stakes_of([9]) == {9: 40 * C}
    assert market.balances([1, 2]) == {1: 108 * C, 2: 101 * C}


def test_registry_pause_does_not_stop_slashing(market: ChainSession) -> None:
    market.transact("stakes", "pause")
    market.settle_round(3, 0, {}, PRICES, None, violations=[(9, 2, 20.0)])
    assert market.stakes_of([9]) == {9: 30 * C}
    assert market.balances([2]) == {2: 120 * C}


def test_every_round_emits_its_reward(market: ChainSession) -> None:
    market.transact("token", "mint", market.operator, 5 * C)
    market.transact("token", "approve", market.deployment.incentives, 5 * C)  # type: ignore[union-attr]
    market.transact("incentives", "fund", 5 * C)
    market.transact("incentives", "setRewardPerRound", C)
    start = market.block_number() + 1
    # two rounds with neither fee nor contributions, then one with a single contributor
    market.settle_round(4, 0, {}, PRICES, None)
    market.settle_round(4, 1, {1: -1.0, 2: 1.0}, PRICES, None)
    market.settle_round(4, 2, {}, PRICES, None, {9: 3.0})
    rewarded = [e.args for e in market.events_since(start) if e.name == "RoundRewarded"]
    assert [(e["pool"], e["distributed"], e["carried"]) for e in rewarded] == [
        (1 * C, 0, 1 * C), (2 * C, 0, 2 * C), (3 * C, 3 * C, 0)
    ]
    # three rounds, one credit each, all to the only contributor
    assert market.rewards_owed([9]) == {9: 3 * C}
    assert market.call("incentives", "reserve") == 2 * C
