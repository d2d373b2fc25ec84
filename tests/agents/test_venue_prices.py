"""Prices per venue (issue 11, item 5): each venue's clearing price beside its LP dual;
pooled figures weight both sides the same way; the cloud apart."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.model import EdgeMarketModel
from agents.scenario import small


def _arr(rows: list) -> np.ndarray:
    return np.array([[np.nan if x is None else x for x in r] for r in rows], float)


def _pool(vp: dict, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """By hand from the per-venue table: units-traded weights over venues with both."""
    p, d, v = _arr(vp["price"])[keep], _arr(vp["dual"])[keep], _arr(vp["volume"])[keep]
    ok = (v > 0) & np.isfinite(p) & np.isfinite(d)
    w = np.where(ok, v, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((w * np.where(ok, p, 0)).sum(0) / w.sum(0),
                (w * np.where(ok, d, 0)).sum(0) / w.sum(0))


@pytest.mark.parametrize("mechanism", ["uniform", "equilibrium"])
def test_pooled_prices_weight_price_and_dual_alike(mechanism: str) -> None:
    model = EdgeMarketModel(small("smart_city", market__mechanism=mechanism,
                                  market__params={}), seed=2)
    for _ in range(2):
        rr = model.step()
        vp = rr.info["venue_prices"]
        ids = np.array(vp["venue"])
        assert ids.size == rr.n_markets and (ids < 0).any() and (ids >= 0).any()
        for key_p, key_d, keep in (("pooled_prices", "equilibrium_prices", ids == ids),
                                   ("edge_prices", "edge_equilibrium", ids >= 0),
                                   ("cloud_prices", "cloud_equilibrium", ids < 0)):
            want_p, want_d = _pool(vp, keep)
            np.testing.assert_allclose(rr.info[key_p], want_p, rtol=1e-12, equal_nan=True)
            np.testing.assert_allclose(rr.info[key_d], want_d, rtol=1e-12, equal_nan=True)
        if mechanism == "equilibrium":
            # every venue prices at its own dual, so the pooled figures agree exactly:
            # no gap is left from the averaging
            p, d = _arr(vp["price"]), _arr(vp["dual"])
            traded = _arr(vp["volume"]) > 0
            np.testing.assert_allclose(p[traded], d[traded], rtol=1e-9)
            np.testing.assert_allclose(rr.info["pooled_prices"], rr.info["equilibrium_prices"],
                                       rtol=1e-9, equal_nan=True)


def test_run_summary_compares_like_with_like(tmp_path) -> None:
    from app.runner import run_simulation

    s = run_simulation("smart_city", overrides={"devices.count": 40, "nodes.count": 4,
                                                "market.mechanism": "equilibrium"},
                       seed=1, rounds=2, db_url=f"sqlite:///{tmp_path / 'runs.db'}")
    for name, p in s.final_prices.items():
        eq = s.equilibrium_prices[name]
        if p is not None and eq is not None:
            assert p == pytest.approx(eq, rel=1e-9), name
    assert set(s.cloud_prices) == set(s.final_prices)
    assert any(v is not None and math.isfinite(v) for v in s.cloud_prices.values())


def test_none_rows_is_the_float_by_float_conversion() -> None:
    """The tables' rows: Python floats as they are (-0.0 included), None for NaN and inf."""
    from agents.marketplace import none_rows

    rng = np.random.default_rng(3)
    a = rng.normal(size=(50, 4)) * 10.0 ** rng.integers(-300, 300, (50, 4))
    a[rng.random((50, 4)) < 0.3] = np.nan
    a[0] = [np.inf, -np.inf, -0.0, 5.0]
    want = [[None if not math.isfinite(x) else float(x) for x in r] for r in a.tolist()]
    got = none_rows(a)
    assert got == want
    assert [[type(x) for x in r] for r in got] == [[type(x) for x in r] for r in want]
    assert math.copysign(1.0, got[0][2]) == -1.0
    assert none_rows(np.zeros((0, 4))) == []
