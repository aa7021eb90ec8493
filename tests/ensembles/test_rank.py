"""Rank aggregation by hand: orientation, the non-finite ranking rule, log-rank sums, lexicographic dense ranks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from naswot_ray.ensembles.rank import combine_ranks, dense_lex_ranks, oriented_ranks


def test_oriented_ranks_put_the_better_end_high_and_infinities_at_their_ends() -> None:
    values = np.array([3.0, -np.inf, 1.0, np.inf, 1.0])
    assert oriented_ranks(values, True).tolist() == [4.0, 1.0, 2.5, 5.0, 2.5]
    # lower is better: +inf (an infinite condition number) is the worst, -inf the best
    assert oriented_ranks(values, False).tolist() == [2.0, 5.0, 3.5, 1.0, 3.5]
    # a legal NaN is the worst value whichever way the metric points, never a NaN rank
    assert oriented_ranks(np.array([2.0, np.nan, 5.0]), True).tolist() == [2.0, 1.0, 3.0]
    assert oriented_ranks(np.array([2.0, np.nan, 5.0]), False).tolist() == [3.0, 1.0, 2.0]


def test_logrank_is_the_az_nas_sum_of_log_normalised_ranks() -> None:
    e, t = np.array([1.0, 2.0, 3.0, 4.0]), np.array([4.0, 3.0, 1.0, 2.0])
    ranks = [stats.rankdata(e), stats.rankdata(t)]
    expected = [math.log(1 / 4) + math.log(4 / 4), math.log(2 / 4) + math.log(3 / 4),
                math.log(3 / 4) + math.log(1 / 4), math.log(4 / 4) + math.log(2 / 4)]
    np.testing.assert_allclose(combine_ranks("logrank", ranks, [1.0, 1.0]), expected, rtol=1e-15)
    np.testing.assert_allclose(combine_ranks("ranksum", ranks, [2.0, 1.0]), [6.0, 7.0, 7.0, 10.0])
    with pytest.raises(ValueError, match="unknown aggregation"):
        combine_ranks("median", ranks, [1.0, 1.0])


def test_lexicographic_dense_ranks_sort_by_the_first_key_then_the_second() -> None:
    # VKDNW_single: (aleph, entropy) pairs; equal pairs share a dense rank, the next pair takes the next integer
    aleph = np.array([21.0, 150.0, 150.0, 90.0, 150.0, 21.0])
    entropy = np.array([0.0, 1.9, 2.1, 2.5, 1.9, 0.0])
    assert dense_lex_ranks([aleph, entropy]).tolist() == [1.0, 3.0, 4.0, 2.0, 3.0, 1.0]
    assert dense_lex_ranks([np.array([1.0, -np.inf]), np.array([0.0, 9.0])]).tolist() == [2.0, 1.0]


def test_average_ranks_equal_scipys_with_ties_and_infinities() -> None:
    from naswot_ray.ensembles.rank import average_ranks

    rng = np.random.default_rng(2)
    for n in (0, 1, 2, 17, 500):
        values = np.round(rng.normal(size=n), 1)
        values[: n // 10] = -np.inf
        np.testing.assert_array_equal(average_ranks(values), stats.rankdata(values) if n else [])
