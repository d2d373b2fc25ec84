"""ChainSession end to end: fund, settle, idempotent re-send, proofs, rewards, slashing."""

from __future__ import annotations

import numpy as np
import pytest

from ledger.chain.encoding import BatchError, net_trades
from ledger.chain.session import ChainSession, SettlementConflict
from ledger.chain.testing import expect_revert
from ledger.units import to_base

from .helpers import addr, trades

pytestmark = pytest.mark.chain

BUYERS, SELLERS = range(0, 20), range(20, 30)
PRICES = np.array([0.5, np.nan, 0.02, 1.25])


@pytest.fixture
def market(settlement_chain: ChainSession) -> ChainSession:
    settlement_chain.register_participants(list(BUYERS) + list(SELLERS), 1_000.0, node_ids=list(SELLERS), stakes=100.0)
    return settlement_chain


def _round(seed: int) -> tuple[object, dict[int, float], float]:
    tr = trades(200, BUYERS, SELLERS, seed=seed)
    net, _ = net_trades(tr)
    fee = 0.0
    # the platform keeps 1% of what sellers get
    for s in SELLERS:
        if net.get(s, 0) > 0:
            cut = round(net[s] * 0.01, 6)
            net[s] -= cut
            fee += cut
    return tr, net, fee


def test_settle_round_moves_balances_exactly(market: ChainSession) -> None:
    tr, net, fee = _round(1)
    before = market.balances(net)
    r = market.settle_round(1, 0, net, PRICES, tr, {20: 3.0, 21: 1.0}, [], fee)
    assert not r.already_settled and r.trade_count == 200 and r.gas_used > 0
    assert sum(r.deltas.values()) + r.fee == 0
    after = market.balances(net)
    for aid, delta in r.deltas.items():
        assert after[aid] == before[aid] + delta
        assert abs(delta - to_base(net[aid])) <= 1
    info = market.round_info(1, 0)
    assert info["trades_root"] == r.trades_root and info["trade_count"] == 200 and info["fee"] == r.fee
    assert np.isnan(info["prices"][1]) and info["prices"][3] == 1.25
    assert market.is_settled(1, 0) and not market.is_settled(1, 1)


def test_resend_is_idempotent_and_conflicts_are_refused(market: ChainSession) -> None:
    tr, net, fee = _round(2)
    first = market.settle_round(4, 1, net, PRICES, tr, None, [], fee)
    balances = market.balances(net)
    again = market.settle_round(4, 1, net, PRICES, tr, None, [], fee)
    assert again.already_settled and again.tx_hash == first.tx_hash and again.block == first.block
    assert market.balances(net) == balances  # nothing applied twice
    other_net = dict(net)
    k = next(iter(other_net))
    other_net[k] -= 0.5
    with pytest.raises(SettlementConflict, match="different content"):
        market.settle_round(4, 1, other_net, PRICES, tr, None, [], fee + 0.5)


def test_verify_trade_on_chain(market: ChainSession) -> None:
    tr, net, fee = _round(3)
    market.settle_round(2, 5, net, PRICES, tr, None, [], fee)
    assert all(market.verify_trade(2, 5, i) for i in (0, 1, 57, 199))
    # another process: rebuild the tree from the trades
    assert market.verify_trade(2, 5, 10, trades=tr)
    # a forged trade (price changed) does not verify
    forged = trades(200, BUYERS, SELLERS, seed=3)
    forged.price = forged.price.copy()
    forged.price[10] += 0.5
    assert not market.verify_trade(2, 5, 10, trades=forged)


def test_pipelined_rounds(market: ChainSession) -> None:
    pending = []
    for rnd in range(4):
        tr, net, fee = _round(10 + rnd)
        pending.append(market.submit_round(3, rnd, net, PRICES, tr, None, [], fee))
    receipts = market.wait_rounds(pending)
    assert [r.round for r in receipts] == [0, 1, 2, 3]
    assert len({r.block for r in receipts}) == 4
    assert all(market.is_settled(3, rnd) for rnd in range(4))


def test_rewards_pro_rata_and_claims(market: ChainSession) -> None:
    tr, net, fee = _round(4)
    contributions = {20: 1.0, 21: 2.0, 22: 0.5}
    r = market.settle_round(1, 1, net, PRICES, tr, contributions, [], fee)
    owed = market.rewards_owed(contributions)
    total_units = to_base(3.5)
    for aid, units in contributions.items():
        assert owed[aid] == r.fee * to_base(units) // total_units  # floor division
    carry = market.call("incentives", "carry")
    assert sum(owed.values()) + carry == r.fee  # dust stays in the pool
    paid = market.claim_rewards(contributions)
    assert paid == owed
    assert market.call("token", "balanceOf", addr(21)) == owed[21]
    assert market.rewards_owed(contributions) == {20: 0, 21: 0, 22: 0}
    assert market.claim_rewards(contributions) == {}  # nothing to claim twice


def test_violation_slashes_stake_to_buyer(market: ChainSession) -> None:
    before = market.balances([3])[3]
    r = market.settle_round(1, 2, {}, PRICES, None, None, [(25, 3, 12.5), (26, 4, 500.0)], 0.0)
    assert r.trade_count == 0
    assert market.balances([3])[3] == before + to_base(12.5)
    assert market.stakes_of([25, 26]) == {25: to_base(87.5), 26: 0}  # capped at the stake
    assert market.balances([4])[4] == to_base(1_000.0) + to_base(100.0)


def test_violations_on_one_node_share_its_stake(market: ChainSession) -> None:
    market.settle_round(1, 5, {}, PRICES, None, None, [(27, 1, 60.0), (27, 2, 60.0)], 0.0)
    assert market.stakes_of([27]) == {27: 0}
    assert market.balances([1, 2]) == {1: to_base(1_060.0), 2: to_base(1_040.0)}  # 60 + what was left
    assert market.call("settlement", "totalBalances") == sum(market.balances(range(30)).values())


def test_bad_input_is_named_before_sending(market: ChainSession) -> None:
    block = market.block_number()
    with pytest.raises(BatchError, match="net_credits"):
        market.settle_round(1, 3, {1: -1.0, 2: 2.0}, PRICES, None)
    with pytest.raises(BatchError, match="prices"):
        market.settle_round(1, 3, {}, [1.0], None)
    assert market.block_number() == block  # nothing was sent


def test_overdraft_through_the_api_is_decoded(market: ChainSession) -> None:
    with expect_revert("InsufficientBalance", addr(1), to_base(1_000.0), to_base(1_000.5)):
        market.settle_round(1, 4, {1: -1_000.5, 2: 1_000.5}, PRICES, None)
    assert not market.is_settled(1, 4)


def test_attach_to_existing_deployment(market: ChainSession) -> None:
    assert market.deployment is not None
    other = ChainSession(market.rpc_url, deployment=market.deployment.as_dict(), contracts=market.contracts)
    try:
        assert other.balances([1]) == market.balances([1])
    finally:
        other.close()
    with pytest.raises(Exception, match="no contract code"):
        ChainSession(market.rpc_url, contracts=market.contracts).attach(
            {"token": addr(1), "settlement": addr(2), "incentives": addr(3), "stakes": addr(4)}
        )


def test_python_leaf_and_key_match_the_contract(market: ChainSession) -> None:
    from ledger.chain.merkle import leaf_hash

    tr = trades(5, BUYERS, SELLERS, seed=8)
    from ledger.chain.encoding import trade_leaves

    for leaf in trade_leaves(tr):
        assert market.call("settlement", "tradeLeaf", *leaf) == leaf_hash(leaf)
    assert market.call("settlement", "roundKey", 7, 3) == market._round_key(7, 3)


def test_treasury_rewards_are_emitted_per_round(market: ChainSession) -> None:
    market.transact("token", "mint", market.operator, to_base(10.0))
    market.transact("token", "approve", market.deployment.incentives, to_base(10.0))  # type: ignore[union-attr]
    market.transact("incentives", "fund", to_base(10.0))
    market.transact("incentives", "setRewardPerRound", to_base(4.0))
    for rnd in range(3):
        market.settle_round(6, rnd, {}, PRICES, None, {20: 1.0, 21: 3.0}, [], 0.0)
    owed = market.rewards_owed([20, 21])
    assert owed == {20: to_base(2.5), 21: to_base(7.5)}  # 4 + 4 + 2 (reserve exhausted), 1:3
    assert market.call("incentives", "reserve") == 0


def test_send_recovers_from_a_stale_nonce(market: ChainSession) -> None:
    assert market.deployment is not None
    other = ChainSession(market.rpc_url, deployment=market.deployment, contracts=market.contracts)
    try:
        other.transact("token", "mint", other.operator, 1)  # same key, another process
    finally:
        other.close()
    receipt = market.transact("token", "mint", market.operator, 1)  # stale local nonce: healed
    assert int(receipt["status"], 16) == 1
