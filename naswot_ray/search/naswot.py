"""NASWOT Algorithm 1 (Mellor et al., ICML 2021): score N random architectures, keep the best.

Per run: draw N indices uniformly *with replacement* (duplicates possible, as the reference's
``np.random.randint``), score them, return the highest score (:func:`best_by_score`: finite scores only,
first drawn on ties, first drawn if none is finite). No trained accuracy is queried.

Search time: the reference times the scoring of the N networks. With stored scores we report the sum
of the N stored per-architecture scoring times (``seconds`` of each score row, duplicates counted each
time, as the reference rescored them); with ``--live`` the same sum of freshly measured times. Where
the store has no times (scores imported from elsewhere) the search time is unknown (NaN), not 0.
"""

from __future__ import annotations

import numpy as np

from naswot_ray.errors import InputError
from naswot_ray.search import register_search
from naswot_ray.search.base import SearchAlgorithm, SearchOptions, SearchProblem, SearchResult, rng_for
from naswot_ray.search.scorer import best_by_score, known_sum

DEFAULT_N = (10, 100, 1000)


@register_search("naswot")
class NaswotSearch(SearchAlgorithm):
    name = "naswot"
    description = "NASWOT Algorithm 1: score N random architectures (with replacement), keep the best score"
    uses_scores = True
    default_runs = 500

    def settings(self, options: SearchOptions) -> list[dict]:
        self.reject(options, "budget", "population", "sample_size", "candidates")
        self.reject_extra(options)
        ns = options.n or list(DEFAULT_N)
        for n in ns:
            if n < 1:
                raise InputError(f"--n must be at least 1, got {n}")
        return [{"n": int(n)} for n in dict.fromkeys(ns)]

    def label(self, params: dict) -> str:
        return f"N={params['n']}"

    def run(self, problem: SearchProblem, params: dict, run_seed: int) -> SearchResult:
        if problem.scorer is None:
            raise ValueError("naswot needs a scorer")
        rng = rng_for(run_seed)
        n = int(params["n"])
        drawn = problem.domain.sample_candidates(rng, n)
        batch = problem.scorer.score(drawn)
        best = best_by_score(batch.values)
        chosen = int(drawn[best])
        return SearchResult(
            arch_index=chosen, queries=0, scored=n,
            simulated_seconds=known_sum(batch.seconds),
            best_score=float(batch.values[best]),
            fitness=float(problem.oracle.fitness[chosen]),
            extra={"distinct": int(len(np.unique(drawn)))},
        )
