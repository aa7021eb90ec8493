"""VKDNW's 9,445-cell set: NB201 cells without dead branches (spec 0.3)."""

from __future__ import annotations

from naswot_ray.spaces.nb201.cell import dead_edges, is_dead_branch_free, parse_cell
from naswot_ray.spaces.nb201.space import nb201_arch_table


def test_exactly_9445_cells_are_free_of_dead_branches() -> None:
    assert sum(is_dead_branch_free(parse_cell(arch)) for arch in nb201_arch_table()) == 9445


def test_dead_edges_by_hand() -> None:
    # node 1 is computed (conv 0->1) but every edge leaving it is none: edge 0 is dead
    assert dead_edges(parse_cell("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")) == (0,)
    # node 2 is fed only through a none edge from 0 and a none edge from 1: its edge to 3 carries nothing
    assert dead_edges(parse_cell("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_1x1~1|avg_pool_3x3~2|")) == (5,)
    assert is_dead_branch_free(parse_cell("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"))  # identity cell
    assert is_dead_branch_free(parse_cell("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"))  # nothing to zero
    full = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    assert is_dead_branch_free(parse_cell(full))
