"""Trade Merkle trees: OpenZeppelin StandardMerkleTree layout, proofs, packing."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from ledger.chain.accounts import agent_address
from ledger.chain.encoding import (
    NO_PRICE,
    BatchError,
    build_batch,
    decode_prices,
    encode_prices,
    net_trades,
    pack_delta,
    pack_entry,
    trade_leaves,
    unpack_delta,
    unpack_entry,
)
from ledger.chain.merkle import ZERO_ROOT, TradeTree, hash_pair, leaf_hash, verify


def _leaves(n: int, seed: int = 0) -> list[tuple[str, str, int, int, int]]:
    rng = np.random.default_rng(seed)
    return [
        (agent_address(int(rng.integers(50))), agent_address(int(rng.integers(50))), int(rng.integers(4)),
         int(rng.integers(10**9)), int(rng.integers(10**7)))
        for _ in range(n)
    ]  # fmt: skip


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 33, 200])
def test_every_proof_verifies(n: int) -> None:
    values = _leaves(n, seed=n)
    tree = TradeTree.of(values)
    for i, v in enumerate(values):
        assert verify(tree.root, v, tree.proof(i))
    bad = (values[0][0], values[0][1], values[0][2], values[0][3] + 1, values[0][4])
    assert not verify(tree.root, bad, tree.proof(0))


def test_layout_is_the_standard_tree_shape() -> None:
    # A shape check only (the module against its own hashes); the comparison with
    # OpenZeppelin's library itself is test_merkle_vectors.py.
    # Two leaves: root = hash of the sorted pair of double-hashed leaves (OZ StandardMerkleTree).
    a, b = _leaves(2, seed=9)
    tree = TradeTree.of([a, b])
    assert tree.root == hash_pair(leaf_hash(a), leaf_hash(b))
    # Three leaves sorted by hash h0<h1<h2 land at tree[4], tree[3], tree[2]; tree[1]=H(h0,h1).
    vals = _leaves(3, seed=10)
    t3 = TradeTree.of(vals)
    hs = sorted(leaf_hash(v) for v in vals)
    assert t3.tree[4] == hs[0] and t3.tree[3] == hs[1] and t3.tree[2] == hs[2]
    assert t3.root == hash_pair(hash_pair(hs[1], hs[0]), hs[2])


def test_empty_round_has_zero_root() -> None:
    assert TradeTree.of([]).root == ZERO_ROOT
    with pytest.raises(IndexError):
        TradeTree.of([]).proof(0)


def test_pack_roundtrip_and_bounds() -> None:
    for index in (1, 7, 2**32):
        for v in (0, 1, -1, 2**64 - 1, -(2**64 - 1)):
            assert unpack_delta(pack_delta(index, v)) == (index, v)
    assert pack_delta(3, -5) == (3 << 72) | (1 << 64) | 5  # sign-magnitude, as the contract reads it
    with pytest.raises(BatchError):
        pack_delta(1, 2**64)
    with pytest.raises(BatchError):
        pack_delta(0, 1)
    addr = agent_address(5).lower()
    assert unpack_entry(pack_entry(addr, 2**96 - 1)) == (addr, 2**96 - 1)
    with pytest.raises(BatchError):
        pack_entry(addr, -1)


def test_prices_nan_roundtrip() -> None:
    enc = encode_prices([0.5, np.nan, 0.000001, 12.25])
    assert enc == [500_000, NO_PRICE, 1, 12_250_000]
    dec = decode_prices(enc)
    assert np.isnan(dec[1]) and dec[3] == 12.25
    with pytest.raises(BatchError, match="prices"):
        encode_prices([1.0, 2.0, 3.0])
    with pytest.raises(BatchError, match=r"prices\[0\]"):
        encode_prices([-1.0, 2.0, 3.0, 4.0])


def _trades(n: int = 50, seed: int = 1) -> SimpleNamespace:
    rng = np.random.default_rng(seed)
    return SimpleNamespace(
        buyer=rng.integers(0, 10, n), seller=rng.integers(10, 15, n), resource=rng.integers(0, 4, n),
        quantity=rng.random(n) * 3, price=rng.random(n), seller_price=None,
    )  # fmt: skip


def test_build_batch_is_sorted_zero_sum_and_deterministic() -> None:
    tr = _trades()
    net, fee = net_trades(tr)
    index = {aid: 100 - aid for aid in net}  # any dense numbering
    b1 = build_batch(1, 2, net, [1, 2, 3, 4], tr, {10: 1.5, 11: 0.0}, [(10, 3, 0.5)], fee, index_of=index)
    b2 = build_batch(
        1, 2, dict(reversed(net.items())), [1, 2, 3, 4], tr, {11: 0.0, 10: 1.5}, [(10, 3, 0.5)], fee, index_of=index
    )
    assert b1.deltas == b2.deltas and b1.trades_root == b2.trades_root
    assert b1.deltas == sorted(b1.deltas)
    assert sum(unpack_delta(e)[1] for e in b1.deltas) + b1.fee == 0
    with pytest.raises(BatchError, match="no escrow account"):
        build_batch(1, 2, net, [1, 2, 3, 4], tr, fee_credits=fee, index_of={})
    assert len(b1.contributions) == 1  # zero work units are dropped
    assert b1.trade_count == 50 and b1.violations[0][2] == 500_000


def test_trade_leaves_validate_inputs() -> None:
    tr = _trades(5)
    tr.resource = np.array([0, 1, 2, 3, 4])
    with pytest.raises(BatchError, match="resource"):
        trade_leaves(tr)
    tr = _trades(5)
    tr.quantity = -tr.quantity
    with pytest.raises(BatchError, match="non-negative"):
        trade_leaves(tr)


def test_build_batch_names_the_bad_field() -> None:
    with pytest.raises(BatchError, match="net_credits"):
        build_batch(1, 1, {1: 5.0, 2: -1.0}, [1, 2, 3, 4], None, index_of={1: 1, 2: 2})
    with pytest.raises(BatchError, match=r"violations\[0\]"):
        build_batch(1, 1, {}, [1, 2, 3, 4], None, violations=[(1, 2, -3.0)])
    with pytest.raises(BatchError, match="run_id"):
        build_batch(-1, 1, {}, [1, 2, 3, 4], None)


def test_build_batch_without_indices_says_how_to_get_them() -> None:
    with pytest.raises(BatchError, match="account_indices"):
        build_batch(1, 1, {1: -1.0, 2: 1.0}, [1, 2, 3, 4], None)
    assert build_batch(1, 1, {}, [1, 2, 3, 4], None).deltas == []  # nothing to index
