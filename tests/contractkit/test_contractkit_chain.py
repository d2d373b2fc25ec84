"""The contract-testing plugin on a real Anvil: contracts, events, reverts, time, gas.

Expected values come from outside the code under test: events are decoded again by hand
(keccak topic + eth_abi), gas is read back over raw JSON-RPC, an ether transfer costs the
protocol's 21,000 gas, timestamps are the ones set.
"""

from __future__ import annotations

import pytest
from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from ledger.chain.anvil import rpc_call
from ledger.chain.contractkit import Chain
from ledger.chain.errors import ChainError, ContractRevert
from ledger.chain.gas_report import GasRecorder
from ledger.chain.paths import REPO_ROOT
from ledger.chain.testing import Panic, expect_emit, expect_revert

pytestmark = pytest.mark.chain

COUNTER = REPO_ROOT / "examples" / "contracts" / "src" / "Counter.sol"
RELAY = REPO_ROOT / "tests" / "contractkit" / "contracts" / "Relay.sol"


@pytest.fixture(scope="module")
def counter(deploy, accounts):
    return deploy(COUNTER, 5, sender=accounts.deployer)


def test_accounts_are_named_funded_addresses(accounts, chain):
    assert len(accounts) == 10 and accounts.names[:3] == ["deployer", "alice", "bob"]
    assert accounts.alice is accounts[1] and accounts["bob"] is accounts[2]
    assert accounts.alice == to_checksum_address(chain.rpc("eth_accounts")[1])
    assert accounts.alice.balance == int(
        rpc_call(chain.rpc_url, "eth_getBalance", [accounts.alice, "latest"]), 16
    )
    with pytest.raises(AttributeError, match="no account named 'mallory'"):
        _ = accounts.mallory


def test_ether_transfer_costs_21000_gas(accounts):
    before = accounts.bob.balance
    receipt = accounts.alice.transfer(accounts.bob, 12345)
    assert receipt.gas_used == 21_000  # the protocol's intrinsic cost of a plain transfer
    assert accounts.bob.balance - before == 12345


def test_state_changes_do_not_leak_between_tests(accounts):
    # The previous test moved ether: rolled back by the per-test snapshot.
    assert accounts.bob.balance == 10_000 * 10**18


def test_web3_contract_and_short_forms_agree(counter, accounts, chain):
    tx_hash = counter.functions.increment(2).transact({"from": accounts.deployer})
    raw = rpc_call(chain.rpc_url, "eth_getTransactionReceipt", ["0x" + bytes(tx_hash).hex()])
    assert int(raw["status"], 16) == 1
    assert counter.functions.count().call() == 7 == counter.count()
    # Anvil's eth_getStorageAt: count is the first storage slot (owner is immutable)
    slot0 = rpc_call(chain.rpc_url, "eth_getStorageAt", [counter.address, "0x0", "latest"])
    assert int(slot0, 16) == 7


def test_receipt_events_match_a_hand_decoding(counter, accounts, chain):
    receipt = counter.increment(3, sender=accounts.deployer)
    (log,) = rpc_call(chain.rpc_url, "eth_getTransactionReceipt", [receipt.tx_hash])["logs"]
    assert log["topics"][0] == "0x" + keccak(text="Incremented(address,uint256,uint256)").hex()
    by = to_checksum_address("0x" + log["topics"][1][-40:])
    step, new_count = abi_decode(["uint256", "uint256"], bytes.fromhex(log["data"][2:]))
    (event,) = receipt.events
    assert event.event == "Incremented" and event.address == counter.address
    assert (
        (event.args.by, event.args.step, event.args.newCount)
        == (by, step, new_count)
        == (accounts.deployer, 3, 8)
    )


def test_receipt_decodes_events_of_every_known_contract(deploy, chain):
    relay = deploy(RELAY)
    with chain.impersonate(relay.address) as as_relay:  # the relay owns this counter
        owned = deploy(COUNTER, 1, sender=as_relay)
    receipt = relay.poke(owned.address, 4)
    assert receipt.events.names == ["Incremented", "Relayed"]
    assert receipt.events.filter("Incremented", by=relay.address)[0].args.newCount == 5
    assert receipt.events.filter("Relayed", counter=owned.address)[0].address == relay.address
    assert receipt.events.filter("Relayed", step=5) == []
    # a chain that knows both ABIs under one name (e.g. attached with `at`) decodes both
    other = Chain(chain.rpc_url)
    other.at(owned.address, owned.abi, name="Thing")
    other.at(relay.address, relay.abi, name="Thing")
    assert other.decode_logs(receipt.raw["logs"]).names == ["Incremented", "Relayed"]


def test_expect_revert_names_custom_errors_panics_and_require_strings(counter, accounts):
    with expect_revert(counter.NotOwner, caller=accounts.alice) as caught:
        counter.increment(1, sender=accounts.alice)
    assert isinstance(caught[0], ContractRevert) and caught[0].as_dict() == {
        "caller": accounts.alice
    }
    with expect_revert("NotOwner", accounts.alice):  # web3's path: ContractCustomError
        counter.functions.increment(1).transact({"from": accounts.alice})
    with expect_revert("Panic", code=0x12):
        counter.functions.share(0).call()
    with expect_revert(Panic.DIVISION_BY_ZERO):
        counter.share(0)
    with expect_revert("Error", message="Counter: below zero"):
        counter.functions.decrement(99).transact()
    with expect_revert():  # any revert
        counter.increment(0)


@pytest.mark.parametrize(
    ("expectation", "message"),
    [
        (lambda c: expect_revert("ZeroStep"), "expected ZeroStep, got NotOwner"),
        (lambda c: expect_revert(c.NotOwner, caller="0x" + "11" * 20), "expected NotOwner"),
        (lambda c: expect_revert(c.NotOwner, who=1), "has no argument 'who'"),
        (lambda c: expect_revert("NotOwner", 1, 2), "expected NotOwner(1, 2)"),
    ],
)
def test_expect_revert_fails_on_the_wrong_revert(counter, accounts, expectation, message):
    with pytest.raises(AssertionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        with expectation(counter):
            counter.increment(1, sender=accounts.alice)


def test_expect_revert_fails_when_nothing_reverts(counter):
    with pytest.raises(AssertionError, match="nothing reverted"), expect_revert(counter.ZeroStep):
        counter.increment(1)


def test_expect_emit(counter, accounts):
    with expect_emit(counter, "Incremented", step=2, newCount=7) as found:
        counter.increment(2)
    assert found[0].args.by == accounts.deployer
    with pytest.raises(
        AssertionError, match=r"expected event Incremented\(step=9\).*saw Incremented"
    ):
        with expect_emit("Incremented", step=9):
            counter.increment(1)
    with pytest.raises(AssertionError, match="saw no events"), expect_emit(counter, "Incremented"):
        counter.decrement(1)


def test_time_travel(chain, counter):
    t0 = chain.timestamp
    assert t0 <= chain.sleep(3600) - 3600 <= t0 + 2  # wall-clock may add a second
    block = chain.block_number
    assert chain.mine(5) == block + 5
    target = chain.timestamp + 10_000
    chain.set_next_timestamp(target)
    chain.mine()
    assert chain.timestamp == target
    # block.timestamp inside the contract follows: lock for 100 s, 100 s later it opens
    counter.lock(100)
    with expect_revert(counter.Locked):
        counter.increment(1)
    chain.sleep(100)
    counter.increment(1)


def test_raw_evm_increase_time_with_a_list_argument(chain):
    # what web3 users write: make_request(method, [params])
    before = chain.timestamp
    reply = chain.w3.provider.make_request("evm_increaseTime", [7200])
    assert "error" not in reply
    chain.w3.provider.make_request("evm_mine", [])
    assert chain.timestamp - before >= 7200


def test_impersonation(chain, accounts):
    nobody = "0x000000000000000000000000000000000000dEaD"
    chain.set_balance(nobody, 0)
    with chain.impersonate(nobody) as who:
        assert who == to_checksum_address(nobody) and who.balance >= 10**18  # funded for gas
        receipt = who.transfer(accounts.alice, 1)
        assert receipt.status == 1 and receipt["from"] == who
    with pytest.raises(Exception, match=r"(?i)no signer|unknown account|not found|impersonat"):
        chain.w3.eth.send_transaction({"from": who, "to": accounts.alice, "value": 1})


def test_gas_recorded_per_method_equals_the_receipts(chain_rpc_url, accounts, chain):
    kit = Chain(chain_rpc_url, gas=GasRecorder(enabled=True))
    c = kit.deploy(COUNTER, 5)
    hashes = [c.increment(s).tx_hash for s in (1, 2, 3)]
    web3_hash = c.functions.decrement(1).transact({"from": accounts.alice})
    c.decrement(1, sender=accounts.bob)
    raw = [
        int(rpc_call(chain_rpc_url, "eth_getTransactionReceipt", [h])["gasUsed"], 16)
        for h in hashes
    ]
    stats = kit.gas.stats()
    assert stats["Counter.increment"]["calls"] == 3
    assert stats["Counter.increment"]["min"] == min(raw) and stats["Counter.increment"][
        "max"
    ] == max(raw)
    assert stats["Counter.increment"]["median"] == sorted(raw)[1]
    web3_gas = int(
        rpc_call(chain_rpc_url, "eth_getTransactionReceipt", ["0x" + bytes(web3_hash).hex()])[
            "gasUsed"
        ],
        16,
    )
    assert (
        stats["Counter.decrement"]["calls"] == 2 and stats["Counter.decrement"]["min"] <= web3_gas
    )
    assert set(stats) == {"Counter.constructor", "Counter.increment", "Counter.decrement"}


def test_deploy_errors_are_readable(deploy, chain):
    with pytest.raises(LookupError, match="no contract 'Nope'"):
        deploy(f"{COUNTER}:Nope")
    with pytest.raises(FileNotFoundError, match=r"Missing\.sol not found"):
        deploy("src/Missing.sol")
    with pytest.raises(ChainError):
        chain.revert("0x999")
