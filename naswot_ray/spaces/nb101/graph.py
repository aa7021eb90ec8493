"""NAS-Bench-101 cell graphs: validation, pruning and the benchmark's module hash.

Why our own code: the official ``nasbench`` package needs TensorFlow 1.x to read its tfrecord, and
all we need from it is the graph logic. Everything here follows ``spaces-spec.md`` §3.1-§3.3:

* a cell is a DAG given by a strictly upper-triangular 0/1 matrix and one op per vertex, with
  ``ops[0] == 'input'`` and ``ops[-1] == 'output'``;
* before anything else the cell is *pruned*: vertices not on some input->output path are removed;
* the pruned cell must have at most 7 vertices and 9 edges;
* the module hash (a Weisfeiler-Lehman style md5 fingerprint) identifies a cell up to isomorphism
  and is the key of every official NB101 table, so it must be bit-exact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from naswot_ray.errors import InputError

INPUT = "input"
OUTPUT = "output"
#: interior ops in the order that defines their hash labels 0, 1, 2
OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
#: hash labels of the input and output vertices
INPUT_LABEL = -1
OUTPUT_LABEL = -2
MAX_VERTICES = 7
MAX_EDGES = 9

Matrix = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Cell:
    """A pruned, valid NB101 cell: ``matrix[i][j] == 1`` means an edge i -> j (always i < j)."""

    matrix: Matrix
    ops: tuple[str, ...]

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    @property
    def labels(self) -> tuple[int, ...]:
        """Hash labels: -1 for input, -2 for output, the index in :data:`OPS` for interior ops."""
        return (INPUT_LABEL, *(OPS.index(op) for op in self.ops[1:-1]), OUTPUT_LABEL)

    @property
    def edge_bits(self) -> int:
        """The enumeration's integer for this matrix: edge (x, y) is bit x + y(y-1)/2."""
        return matrix_to_bits(self.matrix)

    def module_hash(self) -> str:
        return module_hash(self.matrix, self.labels)


# -- hashing ---------------------------------------------------------------------------------------
def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def module_hash(matrix: Sequence[Sequence[int]], labels: Sequence[int]) -> str:
    """The NB101 module hash of a (pruned) cell, exactly as ``spaces-spec.md`` §3.3 defines it.

    The reprs must be those of plain Python ints (``"(2, 0, -1)"``), never numpy scalars, so every
    value is converted with ``int`` first.
    """
    n = len(matrix)
    rows = [[int(x) for x in row] for row in matrix]
    labels = [int(x) for x in labels]
    preds = [[w for w in range(n) if rows[w][v]] for v in range(n)]
    succs = [[w for w in range(n) if rows[v][w]] for v in range(n)]
    hashes = [_md5(str((len(succs[v]), len(preds[v]), labels[v]))) for v in range(n)]
    for _ in range(n):
        hashes = [
            _md5(
                "".join(sorted(hashes[w] for w in preds[v]))
                + "|"
                + "".join(sorted(hashes[w] for w in succs[v]))
                + "|"
                + hashes[v]
            )
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


# -- matrix <-> enumeration bits -----------------------------------------------------------------
def edge_bit(x: int, y: int) -> int:
    """Bit number of edge (x, y), x < y: column-major over the upper triangle, as the enumerator."""
    return x + y * (y - 1) // 2


def matrix_from_bits(bits: int, num_vertices: int) -> Matrix:
    return tuple(
        tuple(int(x < y and (bits >> edge_bit(x, y)) & 1) for y in range(num_vertices))
        for x in range(num_vertices)
    )


def matrix_to_bits(matrix: Sequence[Sequence[int]]) -> int:
    n = len(matrix)
    return sum(1 << edge_bit(x, y) for y in range(n) for x in range(y) if matrix[x][y])


def cell_from_labels(bits: int, num_vertices: int, interior_labels: Sequence[int]) -> Cell:
    """The cell an enumeration record describes (already pruned: enumerated graphs are full DAGs)."""
    ops = (INPUT, *(OPS[int(label)] for label in interior_labels), OUTPUT)
    return Cell(matrix_from_bits(bits, num_vertices), ops)


# -- validation and pruning ------------------------------------------------------------------------
def _reachable(start: int, neighbours: list[list[int]]) -> set[int]:
    seen = {start}
    stack = [start]
    while stack:
        for w in neighbours[stack.pop()]:
            if w not in seen:
                seen.add(w)
                stack.append(w)
    return seen


def prune(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> Cell | None:
    """Drop vertices that are not on an input->output path (spec §3.2); None if none exists.

    ``matrix`` and ``ops`` must already be well formed (see :func:`check_spec`). Size limits are not
    checked here: they apply to the pruned result (:func:`make_cell`).
    """
    n = len(ops)
    succs = [[w for w in range(n) if matrix[v][w]] for v in range(n)]
    preds = [[w for w in range(n) if matrix[w][v]] for v in range(n)]
    keep = _reachable(0, succs) & _reachable(n - 1, preds)
    if 0 not in keep or n - 1 not in keep:
        return None
    order = sorted(keep)
    pruned = tuple(tuple(int(matrix[a][b]) for b in order) for a in order)
    return Cell(pruned, tuple(ops[v] for v in order))


def check_spec(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> None:
    """Raise :class:`InputError` unless (matrix, ops) is a well-formed, unpruned NB101 spec."""
    n = len(ops)
    if n < 2:
        raise InputError(f"NB101 cell needs at least 2 vertices (input and output), got ops {list(ops)!r}")
    if len(matrix) != n or any(len(row) != n for row in matrix):
        raise InputError(f"NB101 matrix must be {n}x{n} to match {n} ops, got {[len(r) for r in matrix]!r} row lengths")
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value not in (0, 1):
                raise InputError(f"NB101 matrix entry ({i},{j}) is {value!r}; valid values: 0, 1")
            if value and j <= i:
                raise InputError(f"NB101 matrix has edge ({i},{j}) on or below the diagonal; edges must go i -> j with i < j")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise InputError(f"NB101 ops must start with {INPUT!r} and end with {OUTPUT!r}, got {list(ops)!r}")
    for op in ops[1:-1]:
        if op not in OPS:
            raise InputError(f"unknown NB101 op {op!r}; valid choices: {', '.join(OPS)}")


def make_cell(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> Cell:
    """Validate, prune and size-check a spec; the result is a member of the NB101 space.

    Raises :class:`InputError` (one line) for malformed specs, for specs whose input does not reach
    the output, and for pruned cells over 7 vertices or 9 edges.
    """
    check_spec(matrix, ops)
    cell = prune(matrix, ops)
    if cell is None:
        raise InputError("NB101 cell is invalid: no path from input to output")
    if cell.num_vertices > MAX_VERTICES:
        raise InputError(f"NB101 cell has {cell.num_vertices} vertices after pruning; at most {MAX_VERTICES} allowed")
    if cell.num_edges > MAX_EDGES:
        raise InputError(f"NB101 cell has {cell.num_edges} edges after pruning; at most {MAX_EDGES} allowed")
    return cell


def is_valid(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> bool:
    try:
        make_cell(matrix, ops)
    except InputError:
        return False
    return True
