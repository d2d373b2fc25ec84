"""Events are enough to rebuild the ledger; reconcile compares it to the wei."""

from __future__ import annotations

import numpy as np
import pytest

from ledger.chain.encoding import net_trades
from ledger.chain.reconcile import rebuild_balances, reconcile
from ledger.chain.session import ChainSession
from ledger.chain.testing import Actor
from ledger.units import to_base

from .helpers import trades

pytestmark = pytest.mark.chain

PRICES = np.array([0.5, 0.1, 0.02, 1.25])


def _names(events: list) -> set[str]:
    return {f"{e.contract}.{e.name}" for e in events}


def test_every_action_emits_its_event(settlement_chain: ChainSession, settlement_actors: list[Actor]) -> None:
    start = settlement_chain.block_number() + 1
    settlement_chain.register_participants([1, 2], 10.0, node_ids=[9], stakes=5.0)
    user = settlement_actors[0]
    user.fund_credits(3.0)
    user.transact("settlement", "deposit", to_base(3.0))
    user.transact("settlement", "withdraw", to_base(1.0))
    settlement_chain.settle_round(1, 0, {1: -1.0, 2: 0.9}, PRICES, None, {2: 1.0}, [(9, 1, 0.5)], 0.1)
    settlement_chain.claim_rewards([2])
    settlement_chain.transact("token", "approve", settlement_chain.deployment.incentives, 10)  # type: ignore[union-attr]
    settlement_chain.transact("token", "mint", settlement_chain.operator, 10)
    settlement_chain.transact("incentives", "fund", 10)
    settlement_chain.transact("incentives", "setRewardPerRound", 5)
    settlement_chain.request_exit([9])
    settlement_chain.rpc.call("evm_increaseTime", settlement_chain.call("stakes", "exitDelay") + 1)
    settlement_chain.withdraw_stakes([9])
    settlement_chain.transact("settlement", "pause")
    events = settlement_chain.events_since(start)
    assert {
        "EdgeCredit.Transfer",
        "MarketSettlement.AccountOpened",
        "MarketSettlement.Deposited",
        "MarketSettlement.Withdrawn",
        "MarketSettlement.RoundSettled",
        "MarketSettlement.Compensated",
        "MarketSettlement.Paused",
        "ContributionIncentives.RoundRewarded",
        "ContributionIncentives.Claimed",
        "ContributionIncentives.Funded",
        "StakeRegistry.Registered",
        "StakeRegistry.Slashed",
        "StakeRegistry.ExitRequested",
        "StakeRegistry.StakeWithdrawn",
        "ContributionIncentives.RewardPerRoundSet",
    } <= _names(events)
    settled = next(e for e in events if e.name == "RoundSettled")
    assert settled.args["runId"] == 1 and settled.args["round"] == 0 and settled.args["fee"] == to_base(0.1)
    deltas = settlement_chain.round_deltas(settled)
    assert sorted(deltas.values()) == [to_base(-1.0), to_base(0.9)]


def test_reconcile_agrees_to_the_wei(settlement_chain: ChainSession, settlement_actors: list[Actor]) -> None:
    agents = list(range(40))
    settlement_chain.register_participants(agents, 500.0, node_ids=range(30, 40), stakes=20.0)
    expected = dict.fromkeys(agents, to_base(500.0))
    for rnd in range(3):
        tr = trades(150, range(0, 30), range(30, 40), seed=rnd)
        net, fee = net_trades(tr)
        r = settlement_chain.settle_round(9, rnd, net, PRICES, tr, None, [(31, 2, 1.0)], fee)
        for aid, d in r.deltas.items():
            expected[aid] += d
        expected[2] += to_base(1.0)
    # a real wallet also deposits and withdraws
    user = settlement_actors[1]
    user.fund_credits(5.0)
    user.transact("settlement", "deposit", to_base(5.0))
    user.transact("settlement", "withdraw", to_base(2.0))
    expected_all: dict[int | str, int] = {**expected, user.address: to_base(3.0)}

    report = reconcile(expected_all, settlement_chain)
    assert report.ok, report.diff()
    assert report.rounds == 3 and report.accounts == 41
    assert "agree to the base unit" in report.diff()

    rebuilt, _ = rebuild_balances(settlement_chain.events_since(0))
    assert rebuilt[user.address.lower()] == to_base(3.0)


def test_reconcile_reports_a_readable_diff(settlement_chain: ChainSession) -> None:
    settlement_chain.register_participants([1, 2, 3], 10.0)
    settlement_chain.settle_round(1, 0, {1: -1.0, 2: 1.0}, PRICES, None)
    expected = {1: to_base(9.0), 2: to_base(11.0) + 1, 3: to_base(10.0)}  # off by one base unit
    report = reconcile(expected, settlement_chain)
    assert not report.ok
    assert [m.agent_id for m in report.mismatches] == [2]
    m = report.mismatches[0]
    assert (m.expected, m.from_events, m.on_chain) == (to_base(11.0) + 1, to_base(11.0), to_base(11.0))
    text = report.diff()
    assert "agent 2" in text and "11000001" in text and "1 mismatching" in text
    # an account on chain that the expected ledger forgot
    report2 = reconcile({1: to_base(9.0), 2: to_base(11.0)}, settlement_chain)
    assert [m.agent_id for m in report2.mismatches] == [3] and report2.mismatches[0].expected is None
