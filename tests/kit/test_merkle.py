"""The batch receipts' Merkle tree agrees with RFC 9162's own recursive definition, and a proof holds
for its leaf only, at its place only."""

import hashlib

import pytest

from app.kit.merkle import leaf_hash, proof_of, root_and_proofs, root_from_proof


def _reference_root(items: list[bytes]) -> bytes:
    """MTH of RFC 9162 §2.1.1, written as the RFC writes it: split at the largest power of two < n."""
    if len(items) == 1:
        return hashlib.sha256(b"\x00" + items[0]).digest()
    k = 1
    while k * 2 < len(items):
        k *= 2
    return hashlib.sha256(b"\x01" + _reference_root(items[:k]) + _reference_root(items[k:])).digest()


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 100])
def test_every_leaf_proves_the_root_rfc_9162_computes(size):
    items = [f"item {i}".encode() for i in range(size)]
    root, proofs = root_and_proofs([leaf_hash(item) for item in items])
    assert root == _reference_root(items)
    for index, item in enumerate(items):
        assert root_from_proof(leaf_hash(item), index, size, proofs[index]) == root
        # One leaf's proof computed alone from the leaves (a stored batch check read back) is the same.
        assert proof_of([leaf_hash(item) for item in items], index) == proofs[index]


def test_a_proof_fails_for_another_leaf_place_or_tree_size():
    items = [f"item {i}".encode() for i in range(6)]
    root, proofs = root_and_proofs([leaf_hash(item) for item in items])
    assert root_from_proof(leaf_hash(b"item 9"), 2, 6, proofs[2]) != root
    assert root_from_proof(leaf_hash(items[2]), 3, 6, proofs[2]) != root
    with pytest.raises(ValueError):
        root_from_proof(leaf_hash(items[2]), 2, 6, proofs[2][:-1])
    with pytest.raises(ValueError):
        root_from_proof(leaf_hash(items[2]), 2, 6, [*proofs[2], bytes(32)])
    with pytest.raises(ValueError):
        root_from_proof(leaf_hash(items[2]), 6, 6, proofs[2])
    # A node cannot pass for a leaf: leaves and nodes hash with different prefixes.
    assert leaf_hash(b"x") != hashlib.sha256(b"\x01x").digest()


def test_a_proof_of_a_place_outside_the_tree_is_refused():
    with pytest.raises(ValueError):
        proof_of([leaf_hash(b"only")], 1)
