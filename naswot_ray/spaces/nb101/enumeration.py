"""Enumerate every NAS-Bench-101 cell, with the benchmark's first-found representative per hash.

The official generator (``spaces-spec.md`` §3.4) walks V = 2..7, every edge-bit pattern ``bits`` in
increasing order, keeps "full DAGs" with at most 9 edges, and for each one every labeling in
``itertools.product(range(3), repeat=V-2)`` order; the first (matrix, labeling) that produces a new
module hash becomes that hash's stored form. :func:`enumerate_reference` does exactly that and is
kept as the executable definition (fast enough for V <= 5).

Hashing all 1.29 million labeled graphs with md5 is slow in pure Python, so :func:`enumerate_cells`
gets the same answer with far fewer md5 calls:

1. For every labeled full DAG it computes an exact *isomorphism* key with numpy: the minimum, over
   all permutations of the interior vertices, of (permuted matrix bits, permuted labels). Input and
   output carry unique labels, so every isomorphism fixes them and this key is a complete invariant.
2. Within one V it keeps the first labeled graph of every isomorphism class, in enumeration order.
3. Only those class representatives are md5-hashed (optionally in a process pool), in order, and the
   first representative per hash is kept.

Why this equals the official result: the module hash is invariant under isomorphism, so every hash
bucket is a union of isomorphism classes, and the first labeled graph of a bucket is the first
representative of its earliest class. Step 3 therefore never needs the (checked, but unproven)
claim that the hash has no collisions; if two classes did collide it would keep the first one, as
the official generator does.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.pool import Pool

import numpy as np

from naswot_ray.errors import InputError
from naswot_ray.spaces.nb101.graph import (
    INPUT_LABEL,
    MAX_EDGES,
    MAX_VERTICES,
    OUTPUT_LABEL,
    Cell,
    cell_from_labels,
    edge_bit,
    matrix_from_bits,
    module_hash,
)

#: unique cells with exactly V vertices (spec §3.4); the enumeration asserts these counts
CELLS_PER_VERTEX_COUNT: dict[int, int] = {2: 1, 3: 6, 4: 84, 5: 2_441, 6: 62_010, 7: 359_082}
NUM_INTERIOR_OPS = 3
#: matrices per pass of the key computation (x permutations x labelings int64: about 30 MB for V = 7)
_MATRICES_PER_BLOCK = 128
#: fewer representatives than this are hashed in-process even when a pool is given
_MIN_CELLS_FOR_POOL = 20_000
#: representatives per task sent to a pool worker
_HASH_BLOCK = 2_000


@dataclass(frozen=True)
class EnumeratedCells:
    """Cells with one vertex count, in first-found order.

    ``labels`` has shape (n, V-2): the interior hash labels (0, 1, 2 = index into ``OPS``).
    """

    num_vertices: int
    hashes: list[str]
    bits: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.hashes)


def check_vertex_count(max_vertices: int) -> int:
    if not 2 <= max_vertices <= MAX_VERTICES:
        raise InputError(f"NB101 max_vertices {max_vertices!r} is out of range; valid: 2..{MAX_VERTICES}")
    return max_vertices


def expected_size(max_vertices: int = MAX_VERTICES) -> int:
    """Number of unique cells with at most ``max_vertices`` vertices (423,624 for 7)."""
    check_vertex_count(max_vertices)
    return sum(count for v, count in CELLS_PER_VERTEX_COUNT.items() if v <= max_vertices)


# -- the full-DAG filter, vectorised over all bit patterns ------------------------------------------
def full_dag_bits(num_vertices: int) -> np.ndarray:
    """All ``bits`` (increasing) whose matrix is a full DAG with at most 9 edges.

    Full DAG: every vertex but the output has an out-edge and every vertex but the input an in-edge.
    """
    n = num_vertices
    num_bits = n * (n - 1) // 2
    bits = np.arange(1 << num_bits, dtype=np.int64)
    keep = np.ones(bits.shape, dtype=bool)
    for v in range(n):
        if v < n - 1:  # row v must have an out-edge
            keep &= (bits & sum(1 << edge_bit(v, y) for y in range(v + 1, n))) != 0
        if v > 0:  # column v must have an in-edge
            keep &= (bits & sum(1 << edge_bit(x, v) for x in range(v))) != 0
    edges = np.zeros(bits.shape, dtype=np.int64)
    for k in range(num_bits):
        edges += (bits >> k) & 1
    keep &= edges <= MAX_EDGES
    return bits[keep]


def _labelings(num_vertices: int) -> np.ndarray:
    """Interior labelings in ``itertools.product`` order (last interior vertex fastest)."""
    rows = list(itertools.product(range(NUM_INTERIOR_OPS), repeat=num_vertices - 2))
    return np.array(rows, dtype=np.int64).reshape(len(rows), num_vertices - 2)


# -- isomorphism keys ----------------------------------------------------------------------------
def _isomorphism_keys(num_vertices: int, bits: np.ndarray) -> np.ndarray:
    """Key of every (matrix, labeling), shape (len(bits), 3**(V-2)); equal keys <=> isomorphic.

    Relabelling by permutation p maps matrix A to A[p][:, p] and labels l to l[p]; the key is the
    minimum over p of (matrix code, label code) packed into one int64 (49 + 8 bits at most).
    """
    n = num_vertices
    interior = list(range(1, n - 1))
    perms = np.array([[0, *p, n - 1] for p in itertools.permutations(interior)], dtype=np.int64)
    labelings = _labelings(n)
    num_labelings = len(labelings)
    # label code of every (perm, labeling): sum over interior i of labels[p[i]] * 3**(i-1)
    powers3 = NUM_INTERIOR_OPS ** np.arange(n - 2, dtype=np.int64)
    label_codes = np.stack([labelings[:, p[1:-1] - 1] @ powers3 for p in perms])  # (P, L)
    cell_weights = (np.int64(1) << np.arange(n * n, dtype=np.int64)).reshape(n, n)
    rows_idx = perms[:, :, None]
    cols_idx = perms[:, None, :]
    keys = np.empty((len(bits), num_labelings), dtype=np.int64)
    shifts = np.array([[edge_bit(x, y) if x < y else 0 for y in range(n)] for x in range(n)], dtype=np.int64)
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    for start in range(0, len(bits), _MATRICES_PER_BLOCK):
        block = bits[start : start + _MATRICES_PER_BLOCK]
        matrices = ((block[:, None, None] >> shifts[None]) & 1) * upper[None]  # (B, n, n)
        permuted = matrices[:, rows_idx, cols_idx]  # (B, P, n, n)
        matrix_codes = (permuted * cell_weights).sum(axis=(2, 3))  # (B, P)
        combined = matrix_codes[:, :, None] * num_labelings + label_codes[None]  # (B, P, L)
        keys[start : start + len(block)] = combined.min(axis=1)
    return keys


def _first_of_each_class(num_vertices: int, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bits, labelings) of the first labeled graph of every isomorphism class, in enumeration order."""
    keys = _isomorphism_keys(num_vertices, bits).reshape(-1)
    _, first = np.unique(keys, return_index=True)
    first.sort()
    labelings = _labelings(num_vertices)
    per_matrix = len(labelings)
    return bits[first // per_matrix], labelings[first % per_matrix]


# -- hashing the representatives ----------------------------------------------------------------
def _hash_block(task: tuple[int, list[int], list[tuple[int, ...]]]) -> list[str]:
    num_vertices, bits_list, interior_list = task
    return [
        module_hash(matrix_from_bits(b, num_vertices), (INPUT_LABEL, *interior, OUTPUT_LABEL))
        for b, interior in zip(bits_list, interior_list)
    ]


def _hash_tasks(num_vertices: int, bits: np.ndarray, labels: np.ndarray, block: int) -> Iterator[tuple]:
    for start in range(0, len(bits), block):
        yield (
            num_vertices,
            [int(b) for b in bits[start : start + block]],
            [tuple(int(x) for x in row) for row in labels[start : start + block]],
        )


def enumerate_vertex_count(num_vertices: int, pool: Pool | None = None,
                           on_hashed: Callable[[int], None] | None = None) -> EnumeratedCells:
    """Unique cells with exactly ``num_vertices`` vertices, first-found representative each.

    ``pool`` (optional) hashes the representatives in parallel; results are merged in order, so the
    answer never depends on the number of workers. ``on_hashed`` gets the size of each hashed block.
    """
    bits, labels = _first_of_each_class(num_vertices, full_dag_bits(num_vertices))
    tasks = _hash_tasks(num_vertices, bits, labels, block=_HASH_BLOCK)
    # small V runs in-process, which also hides the pool's start-up (spawned workers import torch)
    use_pool = pool is not None and len(bits) >= _MIN_CELLS_FOR_POOL
    blocks = pool.imap(_hash_block, tasks) if use_pool else map(_hash_block, tasks)
    hashes: list[str] = []
    for block in blocks:
        hashes.extend(block)
        if on_hashed is not None:
            on_hashed(len(block))
    seen: set[str] = set()
    keep = np.zeros(len(hashes), dtype=bool)
    for i, h in enumerate(hashes):
        if h not in seen:
            seen.add(h)
            keep[i] = True
    cells = EnumeratedCells(
        num_vertices=num_vertices,
        hashes=[h for h, k in zip(hashes, keep) if k],
        bits=bits[keep],
        labels=labels[keep],
    )
    expected = CELLS_PER_VERTEX_COUNT[num_vertices]
    if len(cells) != expected:
        raise RuntimeError(f"NB101 enumeration found {len(cells)} cells with {num_vertices} vertices, expected {expected}")
    return cells


def enumerate_cells(
    max_vertices: int = MAX_VERTICES,
    workers: int = 1,
    on_vertex_count: Callable[[EnumeratedCells], None] | None = None,
    on_hashed: Callable[[int], None] | None = None,
) -> list[EnumeratedCells]:
    """Every unique cell with 2..``max_vertices`` vertices, one :class:`EnumeratedCells` per V.

    ``workers`` > 1 hashes in a spawn-started process pool (spawn, because callers may hold torch or
    Ray threads that do not survive a fork). ``on_vertex_count`` is called after each V, ``on_hashed``
    with the number of cells of every hashed block (progress: hashing is nearly all of the time, and
    V = 7 alone holds 85 % of the cells). Different V never share a hash: the fingerprint covers V
    vertex hashes.
    """
    check_vertex_count(max_vertices)
    if workers < 1:
        raise InputError(f"NB101 enumeration workers {workers!r} must be >= 1")
    # the pool only when some V is large enough to use it: starting spawned workers (each imports torch) costs
    # more than hashing the V <= 5 cells in-process
    large = any(CELLS_PER_VERTEX_COUNT[v] >= _MIN_CELLS_FOR_POOL for v in range(2, max_vertices + 1))
    pool = multiprocessing.get_context("spawn").Pool(workers) if workers > 1 and large else None
    try:
        result = []
        for v in range(2, max_vertices + 1):
            cells = enumerate_vertex_count(v, pool, on_hashed=on_hashed)
            result.append(cells)
            if on_vertex_count is not None:
                on_vertex_count(cells)
        return result
    finally:
        if pool is not None:
            pool.close()
            pool.join()


def enumerate_reference(max_vertices: int) -> list[tuple[str, int, int, tuple[int, ...]]]:
    """The official algorithm, literally: (hash, V, bits, interior labels), first found per hash.

    Hashes every labeled graph, so it is only practical up to V = 5 (3,364 graphs); tests use it to
    check :func:`enumerate_cells`.
    """
    check_vertex_count(max_vertices)
    found: dict[str, tuple[str, int, int, tuple[int, ...]]] = {}
    for n in range(2, max_vertices + 1):
        for b in range(1 << (n * (n - 1) // 2)):
            matrix = matrix_from_bits(b, n)
            if any(not any(matrix[v]) for v in range(n - 1)):
                continue
            if any(not any(matrix[x][v] for x in range(n)) for v in range(1, n)):
                continue
            if sum(map(sum, matrix)) > MAX_EDGES:
                continue
            for interior in itertools.product(range(NUM_INTERIOR_OPS), repeat=n - 2):
                h = module_hash(matrix, (INPUT_LABEL, *interior, OUTPUT_LABEL))
                if h not in found:
                    found[h] = (h, n, b, tuple(interior))
    return list(found.values())


def _labeling_index(interior_labels: list[int] | tuple[int, ...]) -> int:
    """Position of a labeling in ``itertools.product`` order (base 3, first interior vertex most significant)."""
    index = 0
    for label in interior_labels:
        index = index * NUM_INTERIOR_OPS + int(label)
    return index


def first_found_forms(cells: list[Cell]) -> list[Cell]:
    """The benchmark's stored (first-found) form of each cell, without hashing the whole space.

    Uses the isomorphism keys of one vertex count (well under a second for V = 7) and returns the
    first labeled graph in enumeration order that is isomorphic to the cell. This equals the first
    graph with the same hash because hash buckets are exactly isomorphism classes in this space,
    which the full enumeration checks every time it runs (one class per hash, 423,624 of each).
    """
    result: list[Cell | None] = [None] * len(cells)
    by_vertices: dict[int, list[int]] = {}
    for i, cell in enumerate(cells):
        by_vertices.setdefault(cell.num_vertices, []).append(i)
    for n, positions in by_vertices.items():
        bits = full_dag_bits(n)
        keys = _isomorphism_keys(n, bits).reshape(-1)
        unique_keys, first = np.unique(keys, return_index=True)
        labelings = _labelings(n)
        per_matrix = len(labelings)
        for i in positions:
            cell = cells[i]
            interior = list(cell.labels[1:-1])
            own_key = _isomorphism_keys(n, np.array([cell.edge_bits], dtype=np.int64))[0, _labeling_index(interior)]
            slot = int(np.searchsorted(unique_keys, own_key))
            pos = int(first[slot])
            result[i] = cell_from_labels(int(bits[pos // per_matrix]), n, labelings[pos % per_matrix].tolist())
    return [cell for cell in result if cell is not None]
