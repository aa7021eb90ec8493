"""Rank statistics of score vs accuracy: Kendall tau-b, Spearman rho, confidence intervals, top-10 % precision.

Two ways to choose the points (``protocol``):

* ``all``: every architecture with a score and an accuracy. The ranking rule
  (:mod:`naswot_ray.ensembles.values`, applied by the caller) decides what a score is: error rows and
  NaN are dropped and counted; a non-finite value the metric declares legal (NASWOT's ``-inf`` for a
  singular kernel) is kept at its end of the ranking (``-inf`` lowest, ``+inf`` highest), as the
  reference's own ``scipy.stats.kendalltau`` call ranks it, and counted.
* ``paper``: NASWOT's Figure 3 protocol (``plot_scores.py``, metrics-spec section 5), step by step:
  keep accuracy > 15 % (NB101: the first 10,000 architectures by index, then accuracy > 50 %, the
  paper's 0.5 in fractions); drop scores equal to 0; if more than 1000 remain, draw 1000 with
  ``np.random.seed(seed)`` + ``np.random.choice(n, 1000, replace=False)``; drop NaN scores but keep
  -inf; Kendall tau-b (``scipy.stats.kendalltau``). NB101's "first 10,000" is the tfrecord order in the
  paper; our NB101 index is hash order, so the same rule keeps a different 10,000.

Point estimates and intervals come from the same arithmetic (the vectorised tau-b and rank-Pearson rho
of :mod:`naswot_ray.analysis.kendall`), so an estimate is never outside its own bootstrap interval by a
rounding difference (scipy's tau of a perfectly ordered sample is 0.9999999999999999, the vectorised one
exactly 1.0, which put a perfect tau outside its interval [1, 1] and crashed the error bars).

Confidence intervals (95 %): a seeded percentile bootstrap (``resamples`` draws of n points with
replacement) where it is cheap, i.e. up to ``BOOTSTRAP_MAX_N`` points under ``ci="auto"``; above that,
the Fisher-z interval with Fieller, Hartley & Pearson's variances (0.437/(n-4) for tau, 1.06/(n-3) for
rho). Why not always bootstrap: 200 resamples of 15,625 points cost several seconds per (metric,
accuracy column), so a whole-space analysis would take minutes instead of seconds, while at that n
both intervals are a few thousandths wide. ``ci="bootstrap"`` forces it anyway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from naswot_ray.analysis.kendall import kendall_tau_b_rows

PROTOCOLS = ("all", "paper")
CI_METHODS = ("auto", "bootstrap", "asymptotic", "none")
BOOTSTRAP_MAX_N = 3000
PAPER_MIN_ACCURACY = 15.0
PAPER_NB101_MIN_ACCURACY = 50.0
PAPER_NB101_FIRST = 10_000
PAPER_SAMPLE = 1000
TOP_FRACTION = 0.10
_Z95 = 1.959963984540054


@dataclass
class Selection:
    """The points a protocol keeps, and how many it dropped for each reason."""

    score: np.ndarray
    accuracy: np.ndarray
    dropped_nan: int = 0
    dropped_inf: int = 0          # infinities the metric does not declare legal (errors)
    kept_nonfinite: int = 0       # legal non-finite scores kept at their end of the ranking
    dropped_low_accuracy: int = 0
    dropped_zero: int = 0
    subsampled_from: int | None = None


@dataclass
class Correlation:
    n: int
    kendall_tau: float
    spearman_rho: float
    kendall_ci: tuple[float, float]
    spearman_ci: tuple[float, float]
    ci_method: str
    top10_precision: float


def select_all(score: np.ndarray, accuracy: np.ndarray, *, illegal_inf: np.ndarray | None = None) -> Selection:
    """Every point with a score and a known accuracy: NaN (error) dropped, +-inf kept and ranked at its end.

    ``score`` has been through the ranking rule: values it rejects are NaN already, and ``illegal_inf``
    marks those that were infinities the metric does not declare (counted apart from errors).
    """
    nan = np.isnan(score)
    known = ~np.isnan(accuracy)
    keep = ~nan & known
    illegal = np.zeros(len(score), dtype=bool) if illegal_inf is None else np.asarray(illegal_inf, dtype=bool)
    return Selection(score[keep], accuracy[keep], dropped_nan=int((nan & known & ~illegal).sum()),
                     dropped_inf=int((illegal & known).sum()), kept_nonfinite=int((keep & ~np.isfinite(score)).sum()))


def select_paper(score: np.ndarray, accuracy: np.ndarray, arch_index: np.ndarray, *, nb101: bool = False,
                 seed: int = 1) -> Selection:
    """NASWOT's Figure 3 selection (see the module docstring); inputs in any order, sorted by index here."""
    order = np.argsort(arch_index, kind="stable")
    score, accuracy, arch_index = score[order], accuracy[order], arch_index[order]
    if nb101:
        first = np.arange(len(score)) < PAPER_NB101_FIRST
        score, accuracy = score[first], accuracy[first]
    threshold = PAPER_NB101_MIN_ACCURACY if nb101 else PAPER_MIN_ACCURACY
    good = accuracy > threshold
    dropped_low = int((~good).sum())
    score, accuracy = score[good], accuracy[good]
    nonzero = score != 0
    dropped_zero = int((~nonzero).sum())
    score, accuracy = score[nonzero], accuracy[nonzero]
    subsampled = None
    if len(score) > PAPER_SAMPLE:
        subsampled = len(score)
        np.random.seed(seed)  # the reference's global-state draw, reproduced exactly
        pick = np.random.choice(len(score), PAPER_SAMPLE, replace=False)
        score, accuracy = score[pick], accuracy[pick]
    nan = np.isnan(score)
    return Selection(score[~nan], accuracy[~nan], dropped_nan=int(nan.sum()), dropped_low_accuracy=dropped_low,
                     dropped_zero=dropped_zero, subsampled_from=subsampled,
                     kept_nonfinite=int(np.isinf(score[~nan]).sum()))


def kendall_tau_b(score: np.ndarray, accuracy: np.ndarray) -> float:
    """scipy's tau-b (within 1e-15), computed by the same code as the bootstrap's resamples."""
    if len(score) < 2:
        return math.nan
    return float(kendall_tau_b_rows(np.asarray(accuracy)[None], np.asarray(score)[None])[0])


def spearman_rho(score: np.ndarray, accuracy: np.ndarray) -> float:
    """scipy's Spearman rho (Pearson of average ranks), computed like the bootstrap's resamples."""
    if len(score) < 2:
        return math.nan
    return float(spearman_rows(np.asarray(score)[None], np.asarray(accuracy)[None])[0])


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho of each row pair (x[b], y[b]): Pearson correlation of the rows' average ranks."""
    rx = stats.rankdata(x, axis=1)
    ry = stats.rankdata(y, axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=1) / np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))


def top_fraction_precision(score: np.ndarray, accuracy: np.ndarray, *, higher_is_better: bool = True,
                           fraction: float = TOP_FRACTION) -> float:
    """Share of the top ``fraction`` by score that is also in the top ``fraction`` by accuracy."""
    n = len(score)
    if n == 0:
        return math.nan
    k = max(1, int(round(fraction * n)))
    ranked = -score if higher_is_better else score
    top_score = np.argsort(ranked, kind="stable")[:k]
    top_acc = np.argsort(-accuracy, kind="stable")[:k]
    return float(np.isin(top_score, top_acc).sum() / k)


def correlate(selection: Selection, *, ci: str = "auto", resamples: int = 200, seed: int = 0,
              higher_is_better: bool = True) -> Correlation:
    """All statistics of one selection."""
    x, y = selection.score, selection.accuracy
    n = len(x)
    tau, rho = kendall_tau_b(x, y), spearman_rho(x, y)
    method = ci
    if ci == "auto":
        method = "bootstrap" if n <= BOOTSTRAP_MAX_N else "asymptotic"
    nan_ci = (math.nan, math.nan)
    if method == "bootstrap" and n >= 3 and resamples > 0:
        tau_ci, rho_ci = bootstrap_ci(x, y, resamples=resamples, seed=seed)
    elif method == "asymptotic":
        tau_ci, rho_ci = fisher_ci(tau, n, 0.437, 4), fisher_ci(rho, n, 1.06, 3)
    else:  # no interval asked for, or too few points for one
        tau_ci, rho_ci = nan_ci, nan_ci
        method = "none"
    return Correlation(n, tau, rho, tau_ci, rho_ci, method,
                       top_fraction_precision(x, y, higher_is_better=higher_is_better))


def fisher_ci(value: float, n: int, variance_numerator: float, offset: int) -> tuple[float, float]:
    """95 % interval of a rank correlation via z = atanh(r), var(z) = numerator / (n - offset)."""
    if not math.isfinite(value) or n <= offset or abs(value) >= 1:
        return (math.nan, math.nan)
    z, se = math.atanh(value), math.sqrt(variance_numerator / (n - offset))
    return (math.tanh(z - _Z95 * se), math.tanh(z + _Z95 * se))


def bootstrap_ci(score: np.ndarray, accuracy: np.ndarray, *, resamples: int, seed: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Percentile 95 % intervals of tau-b and rho over seeded resamples with replacement.

    Both are vectorised over the resamples: Kendall with :func:`naswot_ray.analysis.kendall.kendall_tau_b_rows`,
    Spearman with :func:`spearman_rows`, the functions that give the point estimates too.
    """
    rng = np.random.default_rng(seed)
    n = len(score)
    picks = rng.integers(0, n, size=(resamples, n))
    xs, ys = score[picks], accuracy[picks]
    taus = kendall_tau_b_rows(ys, xs)
    rhos = spearman_rows(xs, ys)
    return _percentiles(taus), _percentiles(rhos)


def paired_rho_difference_ci(first: np.ndarray, second: np.ndarray, accuracy: np.ndarray, *, resamples: int,
                             seed: int) -> tuple[float, tuple[float, float]]:
    """rho(first) - rho(second) against the same ``accuracy``, with a paired percentile 95 % interval.

    Two scores measured on the same cells share their sampling error: resampling the cells once per replicate
    for both (paired) gives the interval of the *difference*, which is much narrower than comparing two
    separate intervals. It says whether one ranking beats another by more than the choice of cells.
    """
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(accuracy), size=(resamples, len(accuracy)))
    ys = accuracy[picks]
    differences = spearman_rows(first[picks], ys) - spearman_rows(second[picks], ys)
    return spearman_rho(first, accuracy) - spearman_rho(second, accuracy), _percentiles(differences)


def _percentiles(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (math.nan, math.nan)
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return (float(lo), float(hi))


__all__ = ["PROTOCOLS", "CI_METHODS", "Selection", "Correlation", "select_all", "select_paper", "correlate",
           "kendall_tau_b", "spearman_rho", "spearman_rows", "top_fraction_precision", "bootstrap_ci",
           "paired_rho_difference_ci", "fisher_ci"]
