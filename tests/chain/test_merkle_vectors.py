"""``ledger.chain.merkle`` against reference vectors made by ``@openzeppelin/merkle-tree``.

The fixture ``fixtures/merkle_vectors.json`` was written by OpenZeppelin's JavaScript
library (``fixtures/make_merkle_vectors.mjs``, the package pinned in package.json's
devDependencies) for the leaf encoding ``MarketSettlement.tradeLeaf`` hashes. Roots, leaf
hashes, the whole tree layout and every proof must match it byte for byte; on Anvil, the
contract's own ``tradeLeaf`` and ``verifyTrade`` must accept the library's leaves and proofs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.chain.merkle import TradeLeaf, TradeTree, leaf_hash, verify
from ledger.chain.paths import REPO_ROOT
from ledger.chain.session import ChainSession

from .helpers import raw_batch

FIXTURE = Path(__file__).parent / "fixtures" / "merkle_vectors.json"
VECTORS: dict[str, Any] = json.loads(FIXTURE.read_text())
CASES = {c["name"]: c for c in VECTORS["cases"]}


def _leaf(value: list[Any]) -> TradeLeaf:
    buyer, seller, resource, quantity, price = value
    return (buyer, seller, int(resource), int(quantity), int(price))


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def test_fixture_comes_from_the_pinned_package_and_the_contract_encoding() -> None:
    pinned = json.loads((REPO_ROOT / "package.json").read_text())["devDependencies"]["@openzeppelin/merkle-tree"]
    assert VECTORS["generator"].startswith(f"@openzeppelin/merkle-tree {pinned} StandardMerkleTree")
    assert VECTORS["encoding"] == ["address", "address", "uint8", "uint256", "uint256"]
    assert len(CASES) >= 12 and sum(len(c["values"]) for c in CASES.values()) >= 190


@pytest.mark.parametrize("name", sorted(CASES))
def test_tree_matches_openzeppelin(name: str) -> None:
    case = CASES[name]
    values = [_leaf(v) for v in case["values"]]
    tree = TradeTree.of(values)
    assert _hex(tree.root) == case["root"]
    assert [_hex(leaf_hash(v)) for v in values] == case["leaf_hashes"]
    assert [_hex(h) for h in tree.tree] == case["tree"]
    assert tree.positions == case["tree_index"]
    for i, v in enumerate(values):
        assert [_hex(p) for p in tree.proof(i)] == case["proofs"][i], f"proof of value {i}"
        assert verify(tree.root, v, [bytes.fromhex(p[2:]) for p in case["proofs"][i]])


@pytest.mark.chain
def test_contract_accepts_openzeppelin_leaves_and_proofs(settlement_chain: ChainSession) -> None:
    for case in (CASES["edges"], CASES["random-9"]):
        for value, expected in zip(case["values"], case["leaf_hashes"], strict=True):
            assert _hex(settlement_chain.call("settlement", "tradeLeaf", *_leaf(value))) == expected
    case = CASES["random-33"]
    root = bytes.fromhex(case["root"][2:])
    settlement_chain.transact("settlement", "settleRound", raw_batch(11, 0, root=root))
    for value, proof in zip(case["values"], case["proofs"], strict=True):
        proof_bytes = [bytes.fromhex(p[2:]) for p in proof]
        assert settlement_chain.call("settlement", "verifyTrade", 11, 0, *_leaf(value), proof_bytes)
    # a proof for another leaf does not verify
    assert not settlement_chain.call(
        "settlement", "verifyTrade", 11, 0, *_leaf(case["values"][0]), [bytes.fromhex(p[2:]) for p in case["proofs"][1]]
    )
