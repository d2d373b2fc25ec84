"""Every role-protected function refuses callers without the role (decoded by name)."""

from __future__ import annotations

import pytest

from ledger.chain.deploy import role_id
from ledger.chain.session import ChainSession
from ledger.chain.testing import Actor, expect_revert

from .helpers import addr, raw_batch

pytestmark = pytest.mark.chain

# (contract, function, args builder, role)
PROTECTED = [
    ("token", "mint", lambda a: (a.address, 1), "TREASURY_ROLE"),
    ("token", "pause", lambda a: (), "PAUSER_ROLE"),
    ("token", "unpause", lambda a: (), "PAUSER_ROLE"),
    ("token", "grantRole", lambda a: (role_id("TREASURY_ROLE"), a.address), "DEFAULT_ADMIN_ROLE"),
    ("settlement", "settleRound", lambda a: (raw_batch(1, 1),), "OPERATOR_ROLE"),
    ("settlement", "depositFor", lambda a: ([a.address], [1]), "TREASURY_ROLE"),
    ("settlement", "pause", lambda a: (), "PAUSER_ROLE"),
    ("settlement", "unpause", lambda a: (), "PAUSER_ROLE"),
    ("settlement", "grantRole", lambda a: (role_id("OPERATOR_ROLE"), a.address), "DEFAULT_ADMIN_ROLE"),
    ("incentives", "notifyRound", lambda a: (b"\x01" * 32, 0, []), "SETTLEMENT_ROLE"),
    ("incentives", "fund", lambda a: (1,), "TREASURY_ROLE"),
    ("incentives", "setRewardPerRound", lambda a: (1,), "TREASURY_ROLE"),
    ("incentives", "pause", lambda a: (), "PAUSER_ROLE"),
    ("incentives", "unpause", lambda a: (), "PAUSER_ROLE"),
    ("incentives", "grantRole", lambda a: (role_id("SETTLEMENT_ROLE"), a.address), "DEFAULT_ADMIN_ROLE"),
    ("stakes", "slash", lambda a: (addr(1), 1, a.address), "SLASHER_ROLE"),
    ("stakes", "registerFor", lambda a: ([addr(1)], [10**6]), "REGISTRAR_ROLE"),
    ("stakes", "pause", lambda a: (), "PAUSER_ROLE"),
    ("stakes", "unpause", lambda a: (), "PAUSER_ROLE"),
    ("stakes", "grantRole", lambda a: (role_id("SLASHER_ROLE"), a.address), "DEFAULT_ADMIN_ROLE"),
]


@pytest.mark.parametrize(("contract", "fn", "args", "role"), PROTECTED, ids=[f"{c}.{f}" for c, f, _, _ in PROTECTED])
def test_unauthorized_caller_is_refused(
    settlement_chain: ChainSession, settlement_actors: list[Actor], contract: str, fn: str, args: object, role: str
) -> None:
    intruder = settlement_actors[0]
    with expect_revert("AccessControlUnauthorizedAccount", intruder.address, role_id(role)) as caught:
        intruder.transact(contract, fn, *args(intruder))  # type: ignore[operator]
    assert "AccessControlUnauthorizedAccount" in str(caught[0]) and role in str(caught[0])


@pytest.mark.parametrize(
    ("contract", "fn", "args", "role"),
    [p for p in PROTECTED if p[1] in ("mint", "settleRound", "pause", "setRewardPerRound")],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_granted_role_is_enough(
    settlement_chain: ChainSession, settlement_actors: list[Actor], contract: str, fn: str, args: object, role: str
) -> None:
    holder = settlement_actors[1]
    settlement_chain.transact(contract, "grantRole", role_id(role), holder.address)
    receipt = holder.transact(contract, fn, *args(holder))  # type: ignore[operator]
    assert int(receipt["status"], 16) == 1


def test_revoked_operator_cannot_settle(settlement_chain: ChainSession, settlement_actors: list[Actor]) -> None:
    op = settlement_actors[2]
    settlement_chain.transact("settlement", "grantRole", role_id("OPERATOR_ROLE"), op.address)
    op.transact("settlement", "settleRound", raw_batch(5, 1))
    settlement_chain.transact("settlement", "revokeRole", role_id("OPERATOR_ROLE"), op.address)
    with expect_revert("AccessControlUnauthorizedAccount"):
        op.transact("settlement", "settleRound", raw_batch(5, 2))


def test_modules_are_wired_to_the_settlement(settlement_chain: ChainSession) -> None:
    dep = settlement_chain.deployment
    assert dep is not None
    assert settlement_chain.call("incentives", "hasRole", role_id("SETTLEMENT_ROLE"), dep.settlement)
    assert settlement_chain.call("stakes", "hasRole", role_id("SLASHER_ROLE"), dep.settlement)
    assert not settlement_chain.call("stakes", "hasRole", role_id("SLASHER_ROLE"), settlement_chain.operator)
    assert settlement_chain.call("token", "decimals") == 6
