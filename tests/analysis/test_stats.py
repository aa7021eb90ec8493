"""Statistics: tau-b/rho against scipy, the paper protocol step by step, top-10 % precision, intervals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from naswot_ray.analysis.kendall import kendall_tau_b_rows
from naswot_ray.analysis.stats import (bootstrap_ci, correlate, fisher_ci, paired_rho_difference_ci, select_all, select_paper,
                                       top_fraction_precision)


def _reference_paper_tau(acc: np.ndarray, scores: np.ndarray, seed: int, nb101: bool = False) -> float:
    """NASWOT's plot_scores.py selection written out independently (accuracy in %, arrays in index order)."""
    np.random.seed(seed)
    if nb101:
        acc, scores = acc[:10000], scores[:10000]
        keep = acc > 50.0
    else:
        keep = acc > 15.0
    acc, scores = acc[keep], scores[keep]
    keep = scores != 0.0
    acc, scores = acc[keep], scores[keep]
    if acc.size > 1000:
        pick = np.random.choice(acc.size, 1000, replace=False)
        acc, scores = acc[pick], scores[pick]
    keep = ~np.isnan(scores)
    return stats.kendalltau(acc[keep], scores[keep]).statistic


@pytest.mark.parametrize("n, nb101", [(5000, False), (800, False), (12000, True)])
def test_paper_protocol_matches_the_reference_selection(n: int, nb101: bool) -> None:
    rng = np.random.default_rng(n)
    acc = rng.uniform(5, 95, n)
    scores = acc + rng.normal(scale=20, size=n)
    scores[rng.choice(n, 30, replace=False)] = np.nan
    scores[rng.choice(n, 10, replace=False)] = 0.0
    scores[rng.choice(n, 5, replace=False)] = -np.inf
    index = np.arange(n)
    shuffle = rng.permutation(n)  # the selection sorts by index itself
    selection = select_paper(scores[shuffle], acc[shuffle], index[shuffle], nb101=nb101, seed=3)
    tau = correlate(selection, ci="none").kendall_tau
    assert tau == pytest.approx(_reference_paper_tau(acc, scores, 3, nb101), abs=1e-12)
    if selection.subsampled_from is None:  # -inf is kept by this protocol
        assert np.isneginf(selection.score).sum() == np.sum(np.isneginf(scores) & (acc > 15))
    else:
        assert len(selection.score) == 1000 - selection.dropped_nan
    assert selection.dropped_low_accuracy > 0


def test_all_protocol_drops_errors_and_ranks_legal_infinities() -> None:
    """The ranking rule (issue 14 item 4): NaN (an error) is dropped and counted; -inf and +inf stay, ranked at
    their ends, exactly as scipy ranks them; an illegal infinity arrives as NaN and is counted apart."""
    scores = np.array([1.0, np.nan, 3.0, -np.inf, 5.0, 2.0, np.inf, np.nan])
    acc = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0])
    illegal = np.array([False] * 7 + [True])  # the last was an infinity the metric does not declare
    selection = select_all(scores, acc, illegal_inf=illegal)
    assert (selection.dropped_nan, selection.dropped_inf, selection.kept_nonfinite, len(selection.score)) == (1, 1, 2, 6)
    result = correlate(selection, ci="none")
    kept_acc, kept = [10, 30, 40, 50, 60, 70], [1, 3, -np.inf, 5, 2, np.inf]
    assert result.kendall_tau == pytest.approx(stats.kendalltau(kept_acc, kept).statistic, abs=1e-15)
    assert result.spearman_rho == pytest.approx(stats.spearmanr(kept_acc, kept).statistic, abs=1e-15)


def test_the_rule_on_stored_values_by_metric() -> None:
    """usable_values: error rows and undeclared non-finite values drop; declared ones stay (a legal NaN as the
    worst end); an unregistered metric keeps its infinities."""
    from naswot_ray.ensembles.values import usable_values

    values = np.array([1.0, -np.inf, np.inf, np.nan, 2.0])
    ok = np.array([True, True, True, True, False])
    naswot = usable_values(values, ok, "naswot")  # declares -inf only
    np.testing.assert_array_equal(naswot.values, [1.0, -np.inf, np.nan, np.nan, np.nan])
    assert (naswot.errors, int(naswot.illegal_inf.sum()), naswot.kept_nonfinite) == (2, 1, 1)
    plugin = usable_values(values, ok, "not_registered_anywhere")
    np.testing.assert_array_equal(plugin.values, [1.0, -np.inf, np.inf, np.nan, np.nan])
    ntk = usable_values(values, ok, "ntk_cond")  # lower is better, declares nothing: every non-finite value drops
    assert np.isnan(ntk.values[1:]).all() and ntk.values[0] == 1.0


def test_top_ten_percent_precision() -> None:
    acc = np.arange(100, dtype=float)
    assert top_fraction_precision(acc.copy(), acc) == 1.0
    assert top_fraction_precision(-acc, acc) == 0.0
    assert top_fraction_precision(-acc, acc, higher_is_better=False) == 1.0
    scores = acc.copy()
    scores[[95, 96]] = -1  # two of the true top 10 ranked last, two others promoted
    assert top_fraction_precision(scores, acc) == pytest.approx(0.8)


def test_vectorised_kendall_equals_scipy_with_ties() -> None:
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(30, 257)), 1)
    y = np.round(x + rng.normal(size=(30, 257)))
    expected = [stats.kendalltau(a, b).statistic for a, b in zip(x, y)]
    np.testing.assert_allclose(kendall_tau_b_rows(x, y), expected, atol=1e-12)
    assert np.isnan(kendall_tau_b_rows(np.ones((1, 5)), np.arange(5.0)[None]))[0]


def test_intervals_cover_the_estimate_and_agree_at_moderate_n() -> None:
    rng = np.random.default_rng(1)
    acc = rng.uniform(0, 100, 1000)
    scores = acc + rng.normal(scale=30, size=1000)
    selection = select_all(scores, acc)
    boot = correlate(selection, ci="bootstrap", resamples=200, seed=2)
    asym = correlate(selection, ci="asymptotic")
    assert boot.ci_method == "bootstrap" and asym.ci_method == "asymptotic"
    for result in (boot, asym):
        assert result.kendall_ci[0] < result.kendall_tau < result.kendall_ci[1]
        assert result.spearman_ci[0] < result.spearman_rho < result.spearman_ci[1]
    assert boot.kendall_ci[1] - boot.kendall_ci[0] == pytest.approx(asym.kendall_ci[1] - asym.kendall_ci[0], rel=0.35)
    assert bootstrap_ci(scores, acc, resamples=50, seed=5) == bootstrap_ci(scores, acc, resamples=50, seed=5)
    assert correlate(selection, ci="auto").ci_method == "bootstrap"
    assert np.isnan(fisher_ci(1.0, 100, 0.437, 4)[0])


def test_a_paired_difference_separates_a_better_score_and_not_a_relabelled_one() -> None:
    rng = np.random.default_rng(3)
    acc = rng.uniform(0, 100, 300)
    good, poor = acc + rng.normal(scale=10, size=300), acc + rng.normal(scale=60, size=300)
    difference, (lo, hi) = paired_rho_difference_ci(good, poor, acc, resamples=300, seed=4)
    assert 0 < lo < difference < hi  # clearly better: the whole interval is above zero
    same, (lo, hi) = paired_rho_difference_ci(good, good * 2 + 1, acc, resamples=300, seed=4)
    assert same == 0 and lo == hi == 0  # a monotone relabelling ranks identically in every replicate
    _, (lo, hi) = paired_rho_difference_ci(poor, good, acc, resamples=300, seed=4)
    assert hi < 0
