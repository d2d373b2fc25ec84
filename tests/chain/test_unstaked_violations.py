"""No attestation blocks a round: a violation is compensated from the stake that exists.

A participant without stake (a broker, a node that never registered, a node that already
left, a stake of zero) pays nothing and the batch still settles; a partly staked node pays
what it has left. Expected payouts are the closed form ``min(attested, stake left)``,
written out by hand per case, not read back from the contract.
"""

from __future__ import annotations

import pytest

from ledger.chain.session import ChainSession

pytestmark = pytest.mark.chain

C = 10**6  # base units per credit
PRICES = [1.0, 1.0, 1.0, 1.0]


@pytest.fixture
def market(settlement_chain: ChainSession) -> ChainSession:
    """Buyers 1..3 with 100 credits; node 9 staked with 50 credits; 8 is a broker (no stake)."""
    settlement_chain.register_participants([1, 2, 3, 8], 100.0, node_ids=[9], stakes=50.0)
    return settlement_chain


def _events(settlement_chain: ChainSession, block: int, name: str) -> list[dict]:
    return [e.args for e in settlement_chain.events_since(block) if e.name == name]


def test_broker_violation_settles_with_zero_compensation(market: ChainSession) -> None:
    start = market.block_number() + 1
    staked = market.call("stakes", "totalStaked")
    r = market.settle_round(
        7, 0, {1: -2.0, 8: 2.0}, PRICES, None, violations=[(8, 1, 3.0)]
    )
    assert r.trade_count == 0 and market.is_settled(7, 0)
    # the deltas applied; the buyer got nothing from the stakeless broker
    assert market.balances([1, 8]) == {1: 98 * C, 8: 102 * C}
    assert market.call("stakes", "totalStaked") == staked == 50 * C
    (comp,) = _events(market, start, "Compensated")
    assert comp["amount"] == 0 and comp["node"].lower() == market.address(8).lower()
    (short,) = _events(market, start, "CompensationShortfall")
    assert (short["attested"], short["paid"]) == (3 * C, 0)
    assert short["buyer"].lower() == market.address(1).lower()
    assert not _events(market, start, "Slashed")


def test_never_registered_and_partly_staked_in_one_batch(market: ChainSession) -> None:
    start = market.block_number() + 1
    market.settle_round(
        7,
        1,
        {},
        PRICES,
        None,
        violations=[(9, 1, 30.0), (77, 2, 5.0), (9, 3, 30.0), (9, 2, 1.0)],
    )
    # node 9 had 50: pays 30, then the 20 left of a 30 claim, then 0; node 77 never existed
    assert market.balances([1, 2, 3]) == {1: 130 * C, 2: 100 * C, 3: 120 * C}
    assert market.stakes_of([9, 77]) == {9: 0, 77: 0}
    paid = [(e["buyer"].lower(), e["amount"]) for e in _events(market, start, "Compensated")]
    assert [a for _, a in paid] == [30 * C, 0, 20 * C, 0]
    shortfalls = [(e["attested"], e["paid"]) for e in _events(market, start, "CompensationShortfall")]
    assert shortfalls == [(5 * C, 0), (30 * C, 20 * C), (1 * C, 0)]
    slashed = [e["amount"] for e in _events(market, start, "Slashed")]
    assert slashed == [30 * C, 20 * C]  # no zero slash call reached the registry
    # the escrow still holds exactly what its books say
    assert market.call("token", "balanceOf", market.deployment.settlement) == market.call(  # type: ignore[union-attr]
        "settlement", "totalBalances"
    )


def test_exited_node_pays_nothing_and_node_in_exit_delay_still_pays(market: ChainSession) -> None:
    market.request_exit([9])
    # during the exit delay the stake is still slashable
    market.settle_round(7, 2, {}, PRICES, None, violations=[(9, 1, 10.0)])
    assert market.stakes_of([9]) == {9: 40 * C}
    market.rpc.call("evm_increaseTime", market.call("stakes", "exitDelay") + 1)
    market.rpc.call("evm_mine")
    market.withdraw_stakes([9])
    assert market.stakes_of([9]) == {9: 0}
    # after the exit the node has no stake: the round settles, the buyer gets nothing more
    market.settle_round(7, 3, {2: -1.0, 3: 1.0}, PRICES, None, violations=[(9, 1, 10.0)])
    assert market.balances([1, 2, 3]) == {1: 110 * C, 2: 99 * C, 3: 101 * C}
    assert market.is_settled(7, 3)


def test_zero_stake_nodes_are_not_registered_and_never_block(settlement_chain: ChainSession) -> None:
    # node_stake_credits: 0 -> nothing is registered; their violations still settle
    settlement_chain.register_participants([1, 2], 10.0, node_ids=[5, 6], stakes=0.0)
    assert settlement_chain.call("stakes", "totalStaked") == 0
    for rnd in range(3):
        settlement_chain.settle_round(8, rnd, {1: -1.0, 2: 1.0}, PRICES, None, violations=[(5, 1, 1.0), (6, 2, 2.0)])
    assert settlement_chain.balances([1, 2]) == {1: 7 * C, 2: 13 * C}
