"""Admin, treasury and operator are separate roles; the admin hand-over takes two steps.

Runs on a private Anvil (its dev accounts are the role keys, so the shared test chain's
actors and snapshots are left alone). Expected holders are written out from the trust model
in docs/contracts.md, not read from the deployment code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ledger.chain.accounts import ANVIL_KEYS
from ledger.chain.deploy import ContractSet, Deployment, accept_admin, deploy_contracts, role_id
from ledger.chain.session import ChainSession
from ledger.chain.testing import expect_revert
from ledger.chain.tx import Sender, TxRequest

pytestmark = pytest.mark.chain

NAMES = {"token": "EdgeCredit", "settlement": "MarketSettlement", "incentives": "ContributionIncentives",
         "stakes": "StakeRegistry"}  # fmt: skip
TWO_DAYS = 2 * 24 * 3600
ADMIN_ROLE = b"\x00" * 32


@pytest.fixture(scope="module")
def local(settlement_contracts: ContractSet) -> Iterator[ChainSession]:
    """A session on its own Anvil, as `edgemarket run --chain anvil` opens one."""
    with ChainSession(contracts=settlement_contracts) as s:
        s.deploy()
        yield s


def _sender(session: ChainSession, key: str) -> Sender:
    return Sender(session.rpc, key, decoder=session.contracts.decoder)


def _tx(session: ChainSession, sender: Sender, contract: str, fn: str, *args: Any,
        dep: Deployment | None = None) -> dict[str, Any]:
    address = getattr(dep or session.deployment, contract)
    return sender.transact(TxRequest(address, session.contracts[NAMES[contract]].encode(fn, *args), 300_000))


def _call(session: ChainSession, contract: str, fn: str, *args: Any, dep: Deployment | None = None) -> Any:
    address = getattr(dep or session.deployment, contract)
    abi = session.contracts[NAMES[contract]].fn(fn)
    return abi.decode_output(session.sender.call(address, abi.encode(*args)))


def _roles_of(session: ChainSession, account: str, dep: Deployment | None = None) -> set[str]:
    held = set()
    for contract in NAMES:
        for role in ("DEFAULT_ADMIN_ROLE", "PAUSER_ROLE", "TREASURY_ROLE", "OPERATOR_ROLE", "REGISTRAR_ROLE",
                     "SETTLEMENT_ROLE", "SLASHER_ROLE"):  # fmt: skip
            if _call(session, contract, "hasRole", role_id(role), account, dep=dep):
                held.add(f"{contract}.{role}")
    return held


def test_local_chain_uses_three_dev_accounts(local: ChainSession) -> None:
    admin, treasury, operator = (_sender(local, k).address for k in ANVIL_KEYS[:3])
    dep = local.deployment
    assert dep is not None and (dep.admin, dep.treasury, dep.operator) == (admin, treasury, operator)
    assert local.operator == operator
    assert _roles_of(local, operator) == {"settlement.OPERATOR_ROLE"}
    assert _roles_of(local, treasury) == {
        "token.TREASURY_ROLE", "settlement.TREASURY_ROLE", "incentives.TREASURY_ROLE", "stakes.REGISTRAR_ROLE",
    }
    assert _roles_of(local, admin) == {f"{c}.{r}" for c in NAMES for r in ("DEFAULT_ADMIN_ROLE", "PAUSER_ROLE")}
    for contract in NAMES:
        assert _call(local, contract, "defaultAdmin") == admin
        assert _call(local, contract, "defaultAdminDelay") == TWO_DAYS
        assert _call(local, contract, "owner") == admin
    # the separated keys still fund, register, settle and pay out end to end
    local.register_participants([1, 2], 10.0, node_ids=[3], stakes=5.0)
    local.settle_round(1, 0, {1: -2.0, 2: 1.5}, [1.0] * 4, None, {3: 1.0}, [(3, 1, 1.0)], 0.5)
    assert local.balances([1, 2]) == {1: 9_000_000, 2: 11_500_000}
    assert local.stakes_of([3]) == {3: 4_000_000}
    assert local.claim_rewards([3]) == {3: 500_000}


@pytest.mark.parametrize("who", [2, 1], ids=["operator", "treasury"])
def test_operator_and_treasury_cannot_grant_or_pause(local: ChainSession, who: int) -> None:
    s = _sender(local, ANVIL_KEYS[who])
    for contract, role in (("settlement", "OPERATOR_ROLE"), ("token", "TREASURY_ROLE"), ("stakes", "SLASHER_ROLE")):
        with expect_revert("AccessControlUnauthorizedAccount", s.address, ADMIN_ROLE):
            _tx(local, s, contract, "grantRole", role_id(role), s.address)
    with expect_revert("AccessControlUnauthorizedAccount", s.address, role_id("PAUSER_ROLE")):
        _tx(local, s, "settlement", "pause")
    with expect_revert("AccessControlUnauthorizedAccount", s.address, ADMIN_ROLE):
        _tx(local, s, "settlement", "beginDefaultAdminTransfer", s.address)


def test_operator_cannot_mint_or_fund_and_treasury_cannot_settle(local: ChainSession) -> None:
    op, tr = _sender(local, ANVIL_KEYS[2]), _sender(local, ANVIL_KEYS[1])
    with expect_revert("AccessControlUnauthorizedAccount", op.address, role_id("TREASURY_ROLE")):
        _tx(local, op, "token", "mint", op.address, 1)
    with expect_revert("AccessControlUnauthorizedAccount", op.address, role_id("TREASURY_ROLE")):
        _tx(local, op, "settlement", "depositFor", [op.address], [1])
    with expect_revert("AccessControlUnauthorizedAccount", op.address, role_id("REGISTRAR_ROLE")):
        _tx(local, op, "stakes", "registerFor", [op.address], [10**6])
    batch = (9, 0, b"\x11" * 32, 0, 0, [1, 1, 1, 1], [], [], [])
    with expect_revert("AccessControlUnauthorizedAccount", tr.address, role_id("OPERATOR_ROLE")):
        _tx(local, tr, "settlement", "settleRound", batch)


def test_default_admin_cannot_be_granted_or_revoked_directly(local: ChainSession) -> None:
    admin, other = _sender(local, ANVIL_KEYS[0]), _sender(local, ANVIL_KEYS[5])
    for contract in NAMES:
        with expect_revert("AccessControlEnforcedDefaultAdminRules"):
            _tx(local, admin, contract, "grantRole", ADMIN_ROLE, other.address)
        with expect_revert("AccessControlEnforcedDefaultAdminRules"):
            _tx(local, admin, contract, "revokeRole", ADMIN_ROLE, admin.address)


def test_admin_hand_over_needs_two_steps_and_the_delay(local: ChainSession) -> None:
    admin, new = _sender(local, ANVIL_KEYS[0]), _sender(local, ANVIL_KEYS[3])
    snap = local.snapshot()
    try:
        _tx(local, admin, "settlement", "beginDefaultAdminTransfer", new.address)
        pending, schedule = _call(local, "settlement", "pendingDefaultAdmin")
        now = int(local.rpc.call("eth_getBlockByNumber", "latest", False)["timestamp"], 16)
        assert pending == new.address and schedule == now + TWO_DAYS
        with expect_revert("AccessControlEnforcedDefaultAdminDelay", schedule):
            _tx(local, new, "settlement", "acceptDefaultAdminTransfer")
        # only the pending admin can accept, even after the delay
        local.rpc.call("evm_increaseTime", TWO_DAYS + 1)
        local.rpc.call("evm_mine")
        with expect_revert("AccessControlInvalidDefaultAdmin", admin.address):
            _tx(local, admin, "settlement", "acceptDefaultAdminTransfer")
        _tx(local, new, "settlement", "acceptDefaultAdminTransfer")
        assert _call(local, "settlement", "defaultAdmin") == new.address
        assert not _call(local, "settlement", "hasRole", ADMIN_ROLE, admin.address)
        with expect_revert("AccessControlUnauthorizedAccount", admin.address, ADMIN_ROLE):
            _tx(local, admin, "settlement", "grantRole", role_id("OPERATOR_ROLE"), admin.address)
        _tx(local, new, "settlement", "grantRole", role_id("PAUSER_ROLE"), new.address)
    finally:
        local.revert(snap)


def test_deployer_keeps_no_role_after_the_hand_over(local: ChainSession) -> None:
    # the case of the issue: the operator's key deploys and hands admin to another address
    deployer = _sender(local, ANVIL_KEYS[2])
    admin, treasury = _sender(local, ANVIL_KEYS[4]), _sender(local, ANVIL_KEYS[1])
    snap = local.snapshot()
    try:
        dep = deploy_contracts(deployer, local.contracts, admin=admin.address, treasury=treasury.address,
                               operator=deployer.address, admin_delay_s=600)
        # until the admin accepts, the deployer is admin (step one only) and nothing else
        assert _roles_of(local, deployer.address, dep) == {
            "settlement.OPERATOR_ROLE", *(f"{c}.DEFAULT_ADMIN_ROLE" for c in NAMES)}
        for contract in NAMES:
            assert _call(local, contract, "pendingDefaultAdmin", dep=dep)[0] == admin.address
        with expect_revert("AccessControlEnforcedDefaultAdminDelay"):
            accept_admin(admin, local.contracts, dep)
        local.rpc.call("evm_increaseTime", 601)
        local.rpc.call("evm_mine")
        accept_admin(admin, local.contracts, dep)
        assert _roles_of(local, deployer.address, dep) == {"settlement.OPERATOR_ROLE"}
        assert _roles_of(local, admin.address, dep) == {
            f"{c}.{r}" for c in NAMES for r in ("DEFAULT_ADMIN_ROLE", "PAUSER_ROLE")}
    finally:
        local.revert(snap)
