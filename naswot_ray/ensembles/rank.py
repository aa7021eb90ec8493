"""Rank aggregation: how several training-free scores become one (numpy only: no store, no accuracies).

Why ranks: member scores live on unrelated scales (log synflow ~ 100, NASWOT ~ 1,500, a condition number
~ 1e3 with lower better), so only their ranks can be combined. Every function here works on one *pool*
(the architectures scored together: the cells being analysed, or the N candidates of one search run), so
aggregates are pool-relative, as AZ-NAS defines its own.

Ranks are *oriented*: 1 is the worst architecture of the pool and N the best, whichever way the metric
points (:func:`oriented_ranks`). Ties share their average rank (as ``scipy.stats.rankdata``), except in a
lexicographic ranking, which gives dense ranks as VKDNW_single does.

Non-finite values (the ranking rule): a value a metric declares legal (``Metric.legal_nonfinite``, e.g.
NASWOT's ``-inf`` for a singular kernel) is ordered, not dropped: ``-inf`` is below every finite value and
``+inf`` above, and a legal NaN counts as the worst value (proxies-sota-spec 0.5: map NaN to a sentinel
before ranking). Values that are *not* legal never reach this module: the callers drop them as errors.

Aggregations (the ``kind`` of an ensemble):

* ``ranksum``: sum over members of weight x rank (TE-NAS's rank sum; the plain ensemble);
* ``logrank``: sum over members of weight x ln(rank / N), the log of a (weighted) product of normalised
  ranks: AZ-NAS's aggregate, and VKDNW_agg's. A network must rank well on *every* member to score well;
* ``lex``: the dense rank of the tuple of member values in lexicographic order (first member first):
  VKDNW_single's "size first, shape second".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

KINDS = ("ranksum", "logrank", "lex")
#: kinds whose value does not depend on the order of their members (their labels sort the members)
SYMMETRIC = frozenset({"ranksum", "logrank"})


def oriented(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """``values`` turned so that higher is better, a legal NaN becoming the worst value (-inf)."""
    v = np.asarray(values, dtype=np.float64)
    v = v if higher_is_better else -v
    return np.where(np.isnan(v), -np.inf, v)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """``scipy.stats.rankdata(values)`` (average ranks of ties) for NaN-free values, without scipy's
    per-call overhead (about 2 ms, which dominates a search that ranks thousands of small pools)."""
    v = np.asarray(values, dtype=np.float64)
    n = v.size
    if n == 0:
        return np.zeros(0)
    order = np.argsort(v, kind="mergesort")
    ordered = v[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    counts = np.diff(np.r_[starts, n])
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.repeat(starts + 1 + (counts - 1) / 2.0, counts)
    return ranks


def oriented_ranks(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Average ranks 1..N with N the best (ties averaged; -inf ranked lowest, +inf highest)."""
    return average_ranks(oriented(values, higher_is_better))


def dense_lex_ranks(columns: Sequence[np.ndarray]) -> np.ndarray:
    """Dense ranks (1 = worst) of the rows ``(columns[0][i], columns[1][i], ...)`` in lexicographic order.

    Each column must already be oriented (higher is better). Equal tuples share a rank, and the next
    distinct tuple gets the next integer, as VKDNW's ``rank(method='dense')`` on a sorted pair.
    """
    if not columns or len(columns[0]) == 0:
        return np.zeros(0)
    keys = np.stack([np.asarray(c, dtype=np.float64) for c in columns])
    order = np.lexsort(keys[::-1])  # lexsort's last key is the primary one
    ordered = keys[:, order]
    new = np.ones(ordered.shape[1], dtype=np.int64)
    new[1:] = np.any(ordered[:, 1:] != ordered[:, :-1], axis=0)
    ranks = np.empty(ordered.shape[1], dtype=np.float64)
    ranks[order] = np.cumsum(new)
    return ranks


def combine_ranks(kind: str, ranks: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The ``ranksum`` or ``logrank`` aggregate of member ranks (each 1..N, N best); higher is better."""
    if not ranks:
        raise ValueError("an aggregate needs at least one member")
    n = len(ranks[0])
    total = np.zeros(n, dtype=np.float64)
    for r, w in zip(ranks, weights):
        if kind == "ranksum":
            total += w * r
        elif kind == "logrank":
            total += w * np.log(r / n)
        else:
            raise ValueError(f"unknown aggregation {kind!r}; valid: ranksum, logrank")
    return total


__all__ = ["KINDS", "SYMMETRIC", "average_ranks", "combine_ranks", "dense_lex_ranks", "oriented", "oriented_ranks"]
