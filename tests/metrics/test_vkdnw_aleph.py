"""vkdnw_aleph: the number of parameter tensors, dead branches included."""

from __future__ import annotations

from naswot_ray.metrics import get_metric
from tests.metrics._support import ALL_NONE, make_ctx

# stem conv + BN (3); 2 reductions x (conv_a 3 + conv_b 3 + shortcut conv 1); lastact BN (2); classifier (2)
ALL_NONE_TENSORS = 3 + 2 * 7 + 2 + 2


def test_counts_by_hand() -> None:
    from naswot_ray.spaces import get_space

    space = get_space("nb201")
    metric = get_metric("vkdnw_aleph")
    assert metric.score(space.build(ALL_NONE, 10), None, seed=0, mode="default", ctx=make_ctx(None)) == ALL_NONE_TENSORS
    # one 3x3 conv edge (conv weight, BN gamma, beta) per cell, 15 cells; a dead edge counts too
    dead = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"  # node 1 never reaches the output
    assert metric.score(space.build(dead, 10), None, seed=0, mode="default", ctx=make_ctx(None)) == ALL_NONE_TENSORS + 45
    assert metric.device_independent and not metric.needs.data
