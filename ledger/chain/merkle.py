"""Merkle trees of a round's trades, compatible with OpenZeppelin's StandardMerkleTree.

Same construction as ``@openzeppelin/merkle-tree``'s ``StandardMerkleTree.of(values,
["address","address","uint8","uint256","uint256"])``: leaves are double-hashed,
``keccak256(keccak256(abi.encode(buyer, seller, resource, quantity, price)))``, sorted by
hash and laid out in a flat array; inner nodes hash the sorted pair of their children. Proofs
verify with OpenZeppelin's ``MerkleProof.verify`` (the settlement's ``verifyTrade``).

Units in the leaf: ``quantity`` in 1e-6 resource units, ``price`` in base units (1e-6
credits) per resource unit, ``resource`` the index 0..3 (communication, caching,
computation, learning). An empty round has the root ``0x00...00``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from Crypto.Hash import keccak as _keccak

TradeLeaf = tuple[str, str, int, int, int]
"""(buyer address, seller address, resource, quantity 1e-6 units, price base units per unit)."""

ZERO_ROOT = b"\x00" * 32


def keccak256(data: bytes) -> bytes:
    """Keccak-256 digest."""
    return _keccak.new(digest_bits=256, data=data).digest()


def _word_address(address: str) -> bytes:
    raw = bytes.fromhex(address[2:] if address.startswith(("0x", "0X")) else address)
    if len(raw) != 20:
        raise ValueError(f"not a 20-byte address: {address!r}")
    return b"\x00" * 12 + raw


def encode_leaf(leaf: TradeLeaf) -> bytes:
    """``abi.encode(buyer, seller, uint8 resource, uint256 quantity, uint256 price)``."""
    buyer, seller, resource, quantity, price = leaf
    if not 0 <= resource < 256 or quantity < 0 or price < 0:
        raise ValueError(f"leaf out of range: {leaf!r}")
    return (
        _word_address(buyer)
        + _word_address(seller)
        + int(resource).to_bytes(32, "big")
        + int(quantity).to_bytes(32, "big")
        + int(price).to_bytes(32, "big")
    )


def leaf_hash(leaf: TradeLeaf) -> bytes:
    """The double-hashed leaf (what the contract's ``tradeLeaf`` returns)."""
    return keccak256(keccak256(encode_leaf(leaf)))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Commutative node hash: keccak256 of the sorted pair."""
    return keccak256(a + b) if a < b else keccak256(b + a)


@dataclass
class TradeTree:
    """A built tree: ``tree[0]`` is the root; ``positions[i]`` is value i's index in ``tree``."""

    tree: list[bytes]
    positions: list[int]
    values: list[TradeLeaf]

    @classmethod
    def of(cls, values: Sequence[TradeLeaf]) -> TradeTree:
        """Build the tree of ``values`` (in the caller's order; leaves are sorted internally)."""
        values = list(values)
        n = len(values)
        if n == 0:
            return cls(tree=[], positions=[], values=[])
        hashed = sorted(((leaf_hash(v), i) for i, v in enumerate(values)), key=lambda t: t[0])
        size = 2 * n - 1
        tree: list[bytes] = [b""] * size
        positions = [0] * n
        for leaf_index, (h, value_index) in enumerate(hashed):
            tree[size - 1 - leaf_index] = h
            positions[value_index] = size - 1 - leaf_index
        for i in range(size - 1 - n, -1, -1):
            tree[i] = hash_pair(tree[2 * i + 1], tree[2 * i + 2])
        return cls(tree=tree, positions=positions, values=values)

    @property
    def root(self) -> bytes:
        """The root (32 zero bytes for an empty tree)."""
        return self.tree[0] if self.tree else ZERO_ROOT

    def proof(self, value_index: int) -> list[bytes]:
        """Sibling hashes from value ``value_index``'s leaf up to the root."""
        if not 0 <= value_index < len(self.values):
            raise IndexError(f"trade index {value_index} out of range 0..{len(self.values) - 1}")
        index = self.positions[value_index]
        proof = []
        while index > 0:
            sibling = index - 1 if index % 2 == 0 else index + 1
            proof.append(self.tree[sibling])
            index = (index - 1) // 2
        return proof


def verify(root: bytes, leaf: TradeLeaf, proof: Sequence[bytes]) -> bool:
    """Off-chain check of a proof (same result as ``MerkleProof.verify``)."""
    node = leaf_hash(leaf)
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node == root
