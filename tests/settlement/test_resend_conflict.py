"""A re-send of a settled round is accepted only with identical content, field by field.

Root, deltas and fee were always compared; prices, contributions and violations are too:
each test changes exactly one of them and expects SettlementConflict naming it.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import numpy as np
import pytest

from ledger.chain.session import ChainSession, SettlementConflict

pytestmark = pytest.mark.chain
TRADES = SimpleNamespace(buyer=np.array([1, 2]), seller=np.array([3, 3]), resource=np.array([0, 2]),
                         quantity=np.array([2.0, 1.0]), price=np.array([1.5, 0.5]))
NET = {1: -3.0, 2: -0.5, 3: 3.5}
PRICES = [1.5, float("nan"), 0.5, float("nan")]
CONTRIB = {3: 4.0}
VIOL = [(3, 1, 0.25)]


@pytest.fixture(scope="module")
def chain() -> Iterator[ChainSession]:
    with ChainSession() as c:
        c.deploy()
        c.register_participants([1, 2, 3], [10.0, 10.0, 0.0], node_ids=[3], stakes=5.0)
        c.settle_round(9, 1, NET, PRICES, TRADES, CONTRIB, VIOL, 0.0)
        yield c


def test_identical_resend_returns_the_original(chain: ChainSession) -> None:
    balances = chain.balances([1, 2, 3])
    again = chain.settle_round(9, 1, NET, PRICES, TRADES, CONTRIB, VIOL, 0.0)
    assert again.already_settled and chain.balances([1, 2, 3]) == balances


@pytest.mark.parametrize(("field", "args"), [
    ("prices", (NET, [1.6, float("nan"), 0.5, float("nan")], TRADES, CONTRIB, VIOL)),
    ("contributions", (NET, PRICES, TRADES, {3: 5.0}, VIOL)),
    ("violations", (NET, PRICES, TRADES, CONTRIB, [(3, 2, 0.25)])),
])
def test_resend_differing_in_one_field_is_refused_naming_it(chain: ChainSession, field: str,
                                                            args: tuple) -> None:  # type: ignore[type-arg]
    with pytest.raises(SettlementConflict, match=rf"\({field} differ\)"):
        chain.settle_round(9, 1, *args, 0.0)
