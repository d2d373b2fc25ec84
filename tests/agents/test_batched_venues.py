"""Clearing every venue in one batched call gives exactly the per-venue loop's rounds.

Rounds that skip the welfare optimum take the flat path (no per-venue objects): trades,
prices, fills and everything the next round depends on are identical; the welfare totals
(sums of the same terms in another order) agree to float rounding.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import agents.marketplace as marketplace
from agents.model import EdgeMarketModel
from agents.results import RoundResult
from agents.scenario import small
from market.mechanisms import mcafee, uniform
from market.result import ClearingResult

#: Totals the flat path sums in another order than the per-venue loop.
ROUNDED = {"welfare", "resource_welfare", "volume", "unmet_demand", "efficiency",
           "optimal_welfare", "buyer_payments", "seller_revenue", "platform_surplus"}


def _same(a: Any, b: Any, where: str, rounded: bool = False) -> None:
    if rounded and where in ROUNDED:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9, err_msg=where)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where, strict=True)
    elif isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or a == b, (where, a, b)
    else:
        assert repr(a) == repr(b), where


def _same_clearing(a: ClearingResult, b: ClearingResult, rounded: bool = False) -> None:
    for name in ("buyer", "seller", "resource", "quantity", "price", "bid_index", "ask_index",
                 "seller_price"):
        _same(getattr(a.trades, name), getattr(b.trades, name), f"trades.{name}")
    for name in ("prices", "bundles_served", "volume", "unmet_demand", "sold",
                 "resource_welfare", "welfare", "optimal_welfare", "efficiency",
                 "buyer_payments", "seller_revenue", "platform_surplus", "mechanism"):
        _same(getattr(a, name), getattr(b, name), name, rounded)
    assert a.info.keys() == b.info.keys()
    for key in a.info:
        _same(a.info[key], b.info[key], f"info.{key}")


def _same_round(a: RoundResult, b: RoundResult, rounded: bool) -> None:
    _same_clearing(a.clearing, b.clearing, rounded)
    for name in ("round", "optimal_welfare", "efficiency", "net_credits", "contributions",
                 "violations", "n_requests", "n_served", "sla_rate", "deadline_rate",
                 "handovers", "n_markets", "qoais"):
        _same(getattr(a, name), getattr(b, name), name, rounded)
    if not rounded:
        assert repr(a.summary()) == repr(b.summary())


def _run(scenario: Any, batched: bool, rounds: int,
         monkeypatch: pytest.MonkeyPatch) -> list[RoundResult]:
    with monkeypatch.context() as m:
        m.setattr(marketplace, "BATCH_VENUES", batched)
        model = EdgeMarketModel(scenario, seed=7)
        return [model.step() for _ in range(rounds)]


@pytest.mark.parametrize("name,extra", [
    ("smart_city", {}),
    ("smart_city", {"market__optimum_every": 0, "snapshot_every": 0}),  # the RL env's
    ("smart_city", {"market__params": {"k": 0.25}}),
    ("highway", {}),
    ("metro", {}),
    ("smart_city", {"market__mechanism": "mcafee"}),
    ("highway", {"market__mechanism": "mcafee", "market__params": {"unit": 0.5}}),
])
def test_batched_rounds_equal_per_venue_loop(name: str, extra: dict[str, Any],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    sc = small(name, **extra)
    sizes: list[int] = []
    flat: list[int] = []
    for module, fn in ((uniform, "clear_uniform_many"), (mcafee, "clear_mcafee_many")):
        real = getattr(module, fn)

        def spy(markets: Any, *args: Any, real: Any = real) -> list[ClearingResult]:
            sizes.append(len(markets))
            return list(real(markets, *args))

        monkeypatch.setattr(module, fn, spy)
    real_flat = marketplace.clear_uniform_flat

    def spy_flat(nb: Any, *args: Any) -> Any:  # the flat path (no optimum solved)
        sizes.append(len(nb))
        flat.append(len(nb))
        return real_flat(nb, *args)

    monkeypatch.setattr(marketplace, "clear_uniform_flat", spy_flat)
    loop = _run(sc, False, 6, monkeypatch)
    assert not sizes
    batch = _run(sc, True, 6, monkeypatch)
    assert max(sizes) > 1  # several venues per call
    assert sum(len(r.clearing.trades) for r in loop) > 0
    # The flat path runs exactly when no optimum is solved and the mechanism is uniform.
    flat_expected = sc.market.optimum_every == 0 and sc.market.mechanism == "uniform"
    assert bool(flat) == flat_expected
    for a, b in zip(loop, batch, strict=True):
        _same_round(a, b, rounded=bool(flat))


def test_clear_venues_batched_flag(small_city: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Venue outcomes (per-venue results, rows, totals) agree venue by venue."""
    calls: list[bool] = []
    real = marketplace.clear_venues

    def spy(*args: Any, **kw: Any) -> marketplace.Clearing:
        outs = [real(*args, **{**kw, "batched": flag}) for flag in (False, True)]
        a, b = outs
        assert len(a.outcomes) == len(b.outcomes)
        for x, y in zip(a.outcomes, b.outcomes, strict=True):
            assert x.venue == y.venue
            _same_clearing(x.result, y.result)
            for name in ("bid_rows", "ask_rows", "demand_total", "supply_total",
                         "equilibrium_prices"):
                _same(getattr(x, name), getattr(y, name), name)
        _same(a.served, b.served, "served")
        for name in ("buyer", "seller", "resource", "quantity", "price", "bid_index",
                     "ask_index", "seller_price"):
            _same(getattr(a.trades, name), getattr(b.trades, name), f"trades.{name}")
        calls.append(True)
        return outs[1]

    monkeypatch.setattr("agents.model.clear_venues", spy)
    model = EdgeMarketModel(small_city, seed=3)
    for _ in range(3):
        model.step()
    assert calls


def test_a_subclass_of_uniform_clears_its_own_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flat path serves the built-in `uniform` only: a user's subclass keeps its clear()."""
    import market.mechanisms as mechanisms
    from market.mechanisms import register_mechanism
    from market.mechanisms.uniform import UniformPrice

    # A private copy of the registry: the test's mechanism is gone again afterwards.
    monkeypatch.setattr(mechanisms, "_REGISTRY", dict(mechanisms._REGISTRY))
    calls: list[int] = []

    name = f"uniform_counted_{id(calls)}"  # a fresh registry name on every call

    @register_mechanism(name)
    class Counted(UniformPrice):
        def clear_many(self, markets: Any) -> list[ClearingResult]:
            calls.append(len(markets))
            return super().clear_many(markets)

    sc = small("smart_city", market__mechanism=name, market__optimum_every=0)
    model = EdgeMarketModel(sc, seed=2)
    for _ in range(3):
        model.step()
    assert calls  # the venues went through the subclass's clear_many()
