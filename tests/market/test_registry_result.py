"""The mechanism registry, the Mechanism interface, ClearingResult and welfare helpers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from market.generate import random_market
from market.mechanisms import Mechanism, available_mechanisms, get_mechanism, register_mechanism
from market.orders import Market, Trades
from market.resources import RESOURCE_NAMES
from market.result import ClearingResult
from market.welfare import build_result, efficiency_of, optimal_welfare


def test_registry_lists_and_builds_mechanisms() -> None:
    assert available_mechanisms() == ["equilibrium", "mcafee", "posted", "tatonnement", "uniform"]
    mech = get_mechanism("uniform", k=0.25)
    assert isinstance(mech, Mechanism) and mech.name == "uniform"
    assert mech.get_params() == {"k": 0.25}
    assert repr(mech) == "UniformPrice(k=0.25)"
    assert mech.set_params(k=0.75).get_params() == {"k": 0.75}
    with pytest.raises(ValueError, match="unknown parameter"):
        mech.set_params(q=1)
    with pytest.raises(TypeError):
        get_mechanism("uniform", q=1)


def test_unknown_mechanism_lists_known_names() -> None:
    with pytest.raises(ValueError, match="known: equilibrium, mcafee, posted, tatonnement, uniform"):
        get_mechanism("vickrey")


def test_register_custom_mechanism() -> None:
    @register_mechanism("nothing-test")
    class Nothing(Mechanism):
        def __init__(self, scale: float = 1.0) -> None:
            self.scale = scale

        def clear(self, market: Market) -> ClearingResult:
            return build_result(market, self.name, Trades.empty(), np.full(4, np.nan))

    try:
        assert "nothing-test" in available_mechanisms()
        res = get_mechanism("nothing-test").clear(random_market(10, 3, 0))
        assert res.welfare == 0 and res.mechanism == "nothing-test"
        with pytest.raises(ValueError, match="already registered"):
            register_mechanism("nothing-test")(type("Other", (Nothing,), {}))
        with pytest.raises(TypeError):
            register_mechanism("bad")(int)  # type: ignore[type-var]
    finally:
        from market import mechanisms

        mechanisms._REGISTRY.pop("nothing-test", None)


@pytest.mark.parametrize("name", ["uniform", "mcafee", "tatonnement", "equilibrium"])
def test_result_reports_everything(name: str) -> None:
    m = random_market(80, 12, 3)
    res = get_mechanism(name).clear(m)
    assert res.prices.shape == (4,) and res.volume.shape == (4,) and res.unmet_demand.shape == (4,)
    assert res.bundles_served.shape == (len(m.bids),) and res.sold.shape == (len(m.asks),)
    traded = res.volume > 0
    assert np.all(np.isnan(res.prices[~traded])) and np.all(np.isfinite(res.prices[traded]))
    assert np.allclose(res.unmet_demand, np.maximum(m.demand_total() - res.volume, 0))
    d = res.to_dict(trades=True)
    text = json.dumps(d, allow_nan=False)  # JSON-able, NaN as null
    assert json.loads(text)["n_trades"] == len(res.trades)
    per = res.per_resource()
    assert list(per) == list(RESOURCE_NAMES)
    assert sum(v["trades"] for v in per.values()) == len(res.trades)
    assert sum(v["buyer_payments"] for v in per.values()) == pytest.approx(res.buyer_payments)
    assert sum(v["platform_surplus"] for v in per.values()) == pytest.approx(res.platform_surplus)
    assert res.optimal_welfare == pytest.approx(optimal_welfare(m))
    assert res.efficiency == pytest.approx(res.welfare / res.optimal_welfare)


def test_efficiency_edge_cases() -> None:
    assert efficiency_of(5.0, 10.0) == 0.5
    assert efficiency_of(0.0, 0.0) == 1.0
    assert math.isnan(efficiency_of(-1.0, 0.0))
    assert math.isnan(efficiency_of(1.0, math.nan))


def test_optimum_can_be_skipped_via_the_memo() -> None:
    m = random_market(30, 5, 1)
    m.cache["optimal_welfare"] = math.nan  # agents skip the LP this way
    res = get_mechanism("uniform").clear(m)
    assert math.isnan(res.optimal_welfare) and math.isnan(res.efficiency)
