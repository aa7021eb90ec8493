"""NB101 module hash, pruning and validity (spaces-spec.md §3.1-§3.3)."""

from __future__ import annotations

import numpy as np
import pytest

from naswot_ray.errors import InputError
from naswot_ray.spaces.nb101.graph import (
    INPUT,
    OUTPUT,
    edge_bit,
    is_valid,
    make_cell,
    matrix_from_bits,
    matrix_to_bits,
    module_hash,
    prune,
)
from tests.spaces.nb101.cells import (
    C1,
    C3,
    INCEPTION_HASH,
    INCEPTION_README,
    INCEPTION_STORED,
    MP,
    NNI_EXAMPLE,
    NNI_HASH,
    matrix,
    spec,
)


def test_published_hashes() -> None:
    assert NNI_EXAMPLE.module_hash() == NNI_HASH
    assert INCEPTION_README.module_hash() == INCEPTION_HASH


def test_stored_form_hashes_like_readme_form() -> None:
    assert INCEPTION_STORED != INCEPTION_README
    assert INCEPTION_STORED.module_hash() == INCEPTION_HASH


def test_hash_ignores_numpy_scalar_types() -> None:
    # the hash is built from Python tuple reprs: numpy ints must not leak "np.int64(...)" into them
    m = np.array(INCEPTION_README.matrix, dtype=np.int64)
    labels = np.array(INCEPTION_README.labels, dtype=np.int64)
    assert module_hash(m, labels) == INCEPTION_HASH


def test_hash_depends_on_ops_and_edges() -> None:
    other_op = spec(7, [(0, 1), (1, 2), (2, 3), (0, 4), (0, 5), (3, 5), (4, 5), (2, 6), (5, 6)], [C3, MP, C3, C3, C3])
    other_edge = spec(7, [(0, 1), (1, 2), (2, 3), (0, 4), (0, 5), (3, 5), (4, 5), (2, 6), (1, 6)], [C3, MP, C3, C3, C1])
    assert len({NNI_HASH, other_op.module_hash(), other_edge.module_hash()}) == 3


def test_hash_is_invariant_under_vertex_relabelling() -> None:
    # swap interior vertices 1 and 2 of a cell where both feed the output
    a = spec(5, [(0, 1), (0, 2), (1, 3), (2, 4), (3, 4)], [C3, MP, C1])
    b = spec(5, [(0, 1), (0, 2), (2, 3), (1, 4), (3, 4)], [MP, C3, C1])
    assert a != b
    assert a.module_hash() == b.module_hash()


def test_edge_bits_are_column_major_over_upper_triangle() -> None:
    assert [edge_bit(0, 1), edge_bit(0, 2), edge_bit(1, 2), edge_bit(0, 3)] == [0, 1, 2, 3]
    m = matrix_from_bits(0b1011, 4)  # bits 0, 1, 3 = edges (0,1), (0,2), (0,3); bit 2 = (1,2) unset
    assert m == ((0, 1, 1, 1), (0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0))
    assert matrix_from_bits(0b100, 3) == ((0, 0, 0), (0, 0, 1), (0, 0, 0))
    assert matrix_to_bits(m) == 0b1011
    assert matrix_to_bits(INCEPTION_STORED.matrix) == INCEPTION_STORED.edge_bits


def test_prune_removes_dead_ends_and_unreachable_vertices() -> None:
    # vertex 2 has no path to the output, vertex 3 is not reachable from the input
    m = matrix(6, [(0, 1), (1, 5), (0, 2), (3, 4), (4, 5), (1, 4)])
    cell = prune(m, [INPUT, C3, MP, C1, C3, OUTPUT])
    assert cell is not None
    assert cell.ops == (INPUT, C3, C3, OUTPUT)
    assert cell.matrix == ((0, 1, 0, 0), (0, 0, 1, 1), (0, 0, 0, 1), (0, 0, 0, 0))
    assert make_cell(m, [INPUT, C3, MP, C1, C3, OUTPUT]).module_hash() == cell.module_hash()


def test_prune_reports_disconnected_cells() -> None:
    assert prune(matrix(4, [(0, 1), (2, 3)]), [INPUT, C3, C3, OUTPUT]) is None
    assert prune(matrix(2, []), [INPUT, OUTPUT]) is None
    with pytest.raises(InputError, match="no path from input to output"):
        make_cell(matrix(4, [(0, 1), (2, 3)]), [INPUT, C3, C3, OUTPUT])


def test_limits_apply_after_pruning() -> None:
    # 8 vertices, but vertex 6 is a dead end: 7 remain, so the spec is valid
    eight = matrix(8, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 7), (0, 6)])
    assert make_cell(eight, [INPUT, C3, C3, C3, C3, C3, MP, OUTPUT]).num_vertices == 7
    eight[6][7] = 1
    assert not is_valid(eight, [INPUT, C3, C3, C3, C3, C3, MP, OUTPUT])
    # ten edges on 7 vertices: too many
    ten = matrix(7, [(0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (1, 6), (2, 6), (3, 6), (4, 6), (5, 6)])
    with pytest.raises(InputError, match="10 edges"):
        make_cell(ten, [INPUT, C3, C3, C3, C3, C3, OUTPUT])
    # NASLib-style unpruned spec with 12 edges that prunes to 9
    twelve = matrix(7, [(0, 1), (0, 2), (0, 3), (0, 4), (0, 6), (1, 5), (1, 6), (2, 6), (3, 4), (3, 5), (4, 5), (4, 6)])
    cell = make_cell(twelve, [INPUT, MP, MP, C3, C3, C3, OUTPUT])
    assert (cell.num_vertices, cell.num_edges) == (6, 9)


@pytest.mark.parametrize(
    ("m", "ops", "message"),
    [
        (matrix(3, [(0, 1), (1, 2)]), [INPUT, "conv5x5", OUTPUT], "unknown NB101 op 'conv5x5'"),
        (matrix(3, [(0, 1), (1, 2)]), [C3, C3, OUTPUT], "must start with 'input'"),
        (matrix(3, [(0, 1), (1, 2)]), [INPUT, C3], "must be 2x2"),
        ([[0, 1, 0], [0, 0, 2], [0, 0, 0]], [INPUT, C3, OUTPUT], "entry \\(1,2\\) is 2"),
        ([[0, 1, 0], [0, 0, 1], [0, 1, 0]], [INPUT, C3, OUTPUT], "on or below the diagonal"),
        ([[0]], [INPUT], "at least 2 vertices"),
    ],
)
def test_malformed_specs_raise_one_line_input_errors(m: list[list[int]], ops: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        make_cell(m, ops)
    assert "\n" not in str(info.value)


def test_labels_follow_available_ops_order() -> None:
    assert spec(5, [(0, 1), (1, 2), (2, 3), (3, 4)], [C3, C1, MP]).labels == (-1, 0, 1, 2, -2)
