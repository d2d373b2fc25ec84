"""Tutorial: unit tests of Counter with the edgemarket pytest plugin (docs/contracts.md).

Every test runs between a snapshot and a revert, so the module-scoped ``counter`` is
deployed once and each test starts from count = 5.
"""

import pytest

from ledger.chain.testing import Panic, expect_emit, expect_revert


@pytest.fixture(scope="module")
def counter(deploy, accounts):
    return deploy("Counter", 5, sender=accounts.deployer)


def test_web3_style(counter, accounts, chain):
    # Plain web3.py: transact returns the hash, call reads.
    tx_hash = counter.functions.increment(3).transact({"from": accounts[0]})
    receipt = chain.w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    assert counter.functions.count().call() == 8


def test_short_forms(counter, accounts):
    receipt = counter.increment(3, sender=accounts.deployer)  # sends, returns the receipt
    assert counter.count() == 8  # views are called
    assert receipt.events.names == ["Incremented"]
    event = receipt.events[0]
    assert event.args.by == accounts.deployer and event.args.step == 3 and event.args.newCount == 8


def test_state_was_rolled_back(counter):
    assert counter.count() == 5


def test_only_the_owner_increments(counter, accounts):
    with expect_revert(counter.NotOwner, caller=accounts.alice):
        counter.increment(1, sender=accounts.alice)
    # web3's own call path raises web3's exception; expect_revert decodes it the same way
    with expect_revert("NotOwner", accounts.bob):
        counter.functions.increment(1).transact({"from": accounts.bob})


def test_custom_error_without_args(counter):
    with expect_revert(counter.ZeroStep):
        counter.increment(0)


def test_require_string_and_panic(counter):
    with expect_revert("Error", message="Counter: below zero"):
        counter.decrement(6, sender=counter.owner())
    with expect_revert(Panic.DIVISION_BY_ZERO):
        counter.share(0)


def test_expect_emit(counter, accounts):
    with expect_emit(counter, "Incremented", by=accounts.deployer, step=2, newCount=7):
        counter.increment(2)


def test_time_lock(counter, chain):
    counter.lock(3600)
    unlock_at = counter.unlockAt()
    with expect_revert(counter.Locked, until=unlock_at):
        counter.increment(1)
    chain.sleep(3600)  # evm_increaseTime + mine
    counter.increment(1)
    assert counter.count() == 6


def test_set_next_timestamp(counter, chain):
    counter.lock(100)
    chain.set_next_timestamp(counter.unlockAt())
    # An explicit gas limit skips web3's gas estimate, which runs at the current time
    # (still locked) rather than at the next block's timestamp.
    counter.increment(4, gas=100_000)  # mined exactly at unlockAt: allowed
    assert chain.timestamp == counter.unlockAt()


def test_impersonate_the_owner(counter, chain, accounts):
    stranger = "0x00000000000000000000000000000000000000aa"
    with expect_revert(counter.NotOwner):
        counter.increment(1, sender=accounts.carol)
    with chain.impersonate(counter.owner()) as owner:  # no key needed
        counter.increment(1, sender=owner)
    with chain.impersonate(stranger) as who, expect_revert(counter.NotOwner, caller=stranger):
        counter.increment(1, sender=who)
    assert counter.count() == 6
