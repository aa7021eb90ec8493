"""Training-free scores as a search sees them: a callable from architecture indices to scores.

Why a protocol: the same search runs on scores already in the store (:class:`StoredScores`, arrays
looked up in microseconds) or on scores computed live by the engine's scorer actors (the engine's
``LiveScorer``). Either way the algorithm asks ``scorer.score(indices)`` and gets, per index, a score
oriented so that *higher is better* (lower-is-better metrics are negated on load) and the seconds its
computation took (what AREA charges to a seconds budget and NASWOT reports as its search time).

Failed scores (``status = error``) come back as NaN and singular NASWOT kernels as ``-inf``;
:func:`best_by_score` never picks either while a finite score exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass
class ScoreBatch:
    """Scores (higher is better; NaN = failed, -inf = singular) and seconds, one per requested index."""

    values: np.ndarray
    seconds: np.ndarray


class Scorer(Protocol):
    """Anything that scores architecture indices. Must be picklable: runs may execute in Ray tasks."""

    def score(self, indices: Sequence[int]) -> ScoreBatch:
        """Scores of ``indices`` in the same order (duplicates allowed)."""
        ...


@dataclass
class StoredScores:
    """Scores read from the store, as arrays over the space's indices.

    ``present[i]`` is False where the store holds no row for architecture ``i`` (different from a
    failed score, which is present with value NaN). ``source`` names the score variant, for records.
    """

    values: np.ndarray      # float64[size], oriented higher-is-better
    seconds: np.ndarray     # float64[size], measured scoring seconds (NaN where unknown)
    present: np.ndarray     # bool[size]
    source: str = ""

    def score(self, indices: Sequence[int]) -> ScoreBatch:
        idx = stored_indices(indices, self.present, "stored score")
        return ScoreBatch(self.values[idx], self.seconds[idx])

    @property
    def scored_indices(self) -> np.ndarray:
        return np.flatnonzero(self.present)


def stored_indices(indices: Sequence[int], present: np.ndarray, what: str) -> np.ndarray:
    """``indices`` as an index array; KeyError naming up to five of them that have no ``what``."""
    idx = np.asarray(indices, dtype=np.int64)
    if not present[idx].all():
        missing = sorted({int(i) for i in idx[~present[idx]]})
        raise KeyError(f"no {what} for architecture(s) {missing[:5]}")
    return idx


def known_sum(seconds: np.ndarray) -> float:
    """Sum of the known (finite) seconds; NaN when none is known, so a missing time never reads as 0 s."""
    finite = np.isfinite(seconds)
    return float(seconds[finite].sum()) if finite.any() else float("nan")


def best_by_score(values: np.ndarray) -> int:
    """Position of the highest *finite* score; ties go to the first drawn; if none is finite, 0.

    Why: NASWOT's reference takes ``nanargmax``; a singular kernel (-inf) or a failed score (NaN) must
    never win over a real score, and a fixed tie rule keeps every run a pure function of its seed.
    """
    finite = np.isfinite(values)
    if not finite.any():
        return 0
    masked = np.where(finite, values, -np.inf)
    return int(np.argmax(masked))  # argmax returns the first maximum


def rank_by_score(values: np.ndarray) -> np.ndarray:
    """Positions ordered best first: finite scores descending (ties in draw order), non-finite last."""
    finite = np.isfinite(values)
    key = np.where(finite, -values, np.inf)
    return np.argsort(key, kind="stable")


__all__ = ["ScoreBatch", "Scorer", "StoredScores", "best_by_score", "known_sum", "rank_by_score", "stored_indices"]
