"""Evaluation of pricings on the same seeds, and its rows in the store."""

from __future__ import annotations

import math

import pytest
from learning_helpers import TINY_OVERRIDES
from sqlalchemy import select

from agents.learning.evaluation import Pricing, evaluate, run_pricing, standard_pricings
from agents.scenario import small
from ledger.store import Evaluation, RunStore


@pytest.fixture(scope="module")
def scenario():
    return small(**{k.replace(".", "__"): v for k, v in TINY_OVERRIDES.items()})


def test_rule_based_vs_equilibrium(scenario):
    pricings = standard_pricings(scenario)
    assert [p.name for p in pricings] == ["tatonnement", "fixed_markup", "equilibrium"]
    rep = evaluate(scenario, pricings, seeds=[1, 2], rounds=4)
    assert len(rep.outcomes) == 6
    eq = [o for o in rep.outcomes if o.pricing == "equilibrium"]
    assert all(o.welfare_share == pytest.approx(1.0) for o in eq)
    for o in rep.outcomes:
        # The equilibrium is each round's optimum on the bids and asks, not on true values
        # and costs, and over rounds the paths differ (budgets, price expectations), so
        # another pricing may end above it: 1.03-1.07 here with strategy-priced brokers
        # (1.03-1.04 without brokers), measured on seeds 1-2.
        assert o.welfare > 0 and 0.5 < o.welfare_share <= 1.10
        assert 0 <= o.sla_rate <= 1 and 0 <= o.qoais <= 1
    summary = {r["pricing"]: r for r in rep.summary()}
    # No pricing makes providers sell below cost (individual rationality). Which earns more
    # is economics, not a law: where capacity binds, the equilibrium's duals carry scarcity
    # rents above a fixed markup (it does in this scarce tiny scenario).
    assert all(r["provider_profit"] >= 0 for r in summary.values())
    table = rep.markdown()
    assert table.count("\n") == 4 and "| equilibrium |" in table


def test_true_welfare_adds_back_node_markups(scenario):
    p = Pricing("x", "fixed_markup", {"markup": 1.0})
    o = run_pricing(scenario, p, seed=3, rounds=3)
    assert o.welfare > o.market_welfare  # asks at 2× cost counted as costs by the market


def test_learned_pricing_rows_in_store(trained, scenario, db_url):
    pricings = standard_pricings(scenario, trained["result"].checkpoint)
    rep = evaluate(scenario, pricings, seeds=[5], rounds=3)
    store = RunStore(db_url)
    store.record_evaluation("eval-test", rep.rows())
    with store.engine.connect() as c:
        rows = c.execute(select(Evaluation.pricing, Evaluation.welfare_share,
                                Evaluation.mean_price)).all()
    assert {r.pricing for r in rows} == {"learned", "tatonnement", "fixed_markup", "equilibrium"}
    assert all(math.isfinite(r.welfare_share) for r in rows)
    assert all(isinstance(r.mean_price, dict) for r in rows)
