"""Brokers price against the market (issue 11, item 7): they undercut their venue's
clearing price, never sell below their own cost, and open at a markup only before any
price is known."""

from __future__ import annotations

import numpy as np
import pytest

from agents.strategies import Shading, Truthful


def test_broker_undercuts_the_market_and_never_sells_below_cost() -> None:
    s = Truthful(broker_markup=0.5, broker_undercut=0.1)
    cost = np.array([[0.004, 0.02, 0.0008, 0.2]])
    market = np.array([[0.01, 0.015, np.nan, 1.0]])
    got = s.quote(cost, market)
    # 0.01 * 0.9 = 0.009 > cost; 0.015 * 0.9 < cost 0.02 -> cost; nan -> opening markup
    np.testing.assert_allclose(got, [[0.009, 0.02, 0.0012, 0.9]])
    # no market information at all: the opening price
    np.testing.assert_allclose(s.quote(cost), cost * 1.5)


def test_undercut_is_validated_and_passed_through_subclasses() -> None:
    with pytest.raises(ValueError, match="broker_undercut"):
        Truthful(broker_undercut=1.0)
    s = Shading(shade=0.1, broker_undercut=0.2)
    assert s.broker_undercut == 0.2
    np.testing.assert_allclose(s.quote(np.ones((1, 4)), np.full((1, 4), 5.0)), 4.0)
