"""A Merkle tree over many items, so that one signature covers them all and each item's proof of
inclusion is kept with it (the tree of RFC 9162 §2.1, Certificate Transparency's).

Leaves are SHA-256(0x00 ‖ item), nodes SHA-256(0x01 ‖ left ‖ right): a leaf can never pass for a
node. Built bottom-up, a level's last node without a sibling rises unchanged to the next level,
which gives the same root and inclusion proofs as RFC 9162's recursive definition.
"""

import hashlib
from collections.abc import Iterator

LEAF, NODE = b"\x00", b"\x01"
HASH_SIZE = 32


def leaf_hash(item: bytes) -> bytes:
    return hashlib.sha256(LEAF + item).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE + left + right).digest()


def root_and_proofs(leaves: list[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root over the leaf hashes, and for each leaf the sibling hashes from it up to the root."""
    if not leaves:
        raise ValueError("a tree needs at least one leaf")
    proofs: list[list[bytes]] = [[] for _ in leaves]
    # Which leaves lie under each node of the current level: a node's sibling joins their proofs.
    under: list[range] = [range(i, i + 1) for i in range(len(leaves))]
    level = leaves
    while len(level) > 1:
        above: list[bytes] = []
        above_under: list[range] = []
        for i in range(0, len(level) - 1, 2):
            left, right = level[i], level[i + 1]
            for leaf in under[i]:
                proofs[leaf].append(right)
            for leaf in under[i + 1]:
                proofs[leaf].append(left)
            above.append(_node(left, right))
            above_under.append(range(under[i].start, under[i + 1].stop))
        if len(level) % 2:  # the last node has no sibling: it rises as it is
            above.append(level[-1])
            above_under.append(under[-1])
        level, under = above, above_under
    return level[0], proofs


def root_from_proof(leaf: bytes, index: int, size: int, proof: list[bytes]) -> bytes:
    """The root a leaf at `index` of a tree of `size` leaves leads to with `proof`; raises
    ValueError when the proof has the wrong length for that place in that tree."""
    if not 0 <= index < size:
        raise ValueError("the index lies outside the tree")
    node, steps = leaf, iter(proof)
    while size > 1:
        if index % 2:
            node = _node(_next(steps), node)
        elif index + 1 < size:
            node = _node(node, _next(steps))
        index, size = index // 2, (size + 1) // 2
    if next(steps, None) is not None:
        raise ValueError("the proof is longer than the path to the root")
    return node


def _next(steps: Iterator[bytes]) -> bytes:
    sibling = next(steps, None)
    if sibling is None or len(sibling) != HASH_SIZE:
        raise ValueError("the proof is shorter than the path to the root")
    return bytes(sibling)


def proof_of(leaves: list[bytes], index: int) -> list[bytes]:
    """The sibling hashes from the leaf at `index` up to the root: what root_and_proofs gives that
    leaf, computed for it alone (every level is hashed once)."""
    if not 0 <= index < len(leaves):
        raise ValueError("the index lies outside the tree")
    proof: list[bytes] = []
    level = leaves
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):  # else the last node of an odd level: it rises without a sibling
            proof.append(level[sibling])
        above = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            above.append(level[-1])
        level, index = above, index // 2
    return proof
