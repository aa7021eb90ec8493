"""AREA, the NASWOT paper's Algorithm 2: seed regularised evolution with the best-scoring networks.

Per run: draw M = 20 candidates uniformly with replacement, score them (no training), keep the P = 10
with the highest scores (finite first, ties and non-finite in draw order), query ("train") those P as the
initial population in their draw order, then run REA (:func:`naswot_ray.search.rea.evolve`) until the
budget is spent and return the fittest architecture of the history.

The algorithm is not in the authors' repository; this follows the paper's description and the
reference REA simulation (metrics-spec section 3.2). With a seconds budget the *measured* scoring time of
the M candidates (the score rows' ``seconds``) is charged before evolution starts, so AREA pays for its
scores; a queries budget counts trained-accuracy lookups only, where scoring is free. Score rows without
a time (scores imported from elsewhere) are charged nothing.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from naswot_ray.errors import InputError
from naswot_ray.search import register_search
from naswot_ray.search.base import SearchAlgorithm, SearchOptions, SearchProblem, SearchResult, positive, rng_for
from naswot_ray.search.budget import Budget, Ledger
from naswot_ray.search.rea import Member, evolution_label, evolution_settings, evolve, fittest, query_member
from naswot_ray.search.scorer import rank_by_score

DEFAULT_CANDIDATES = 20


@register_search("area")
class AssistedRegularisedEvolution(SearchAlgorithm):
    name = "area"
    description = "AREA: score M random candidates, seed REA with the best P by score, then evolve"
    uses_scores = True
    uses_fitness = True
    default_runs = 50

    def settings(self, options: SearchOptions) -> list[dict]:
        self.reject(options, "n")
        self.reject_extra(options)
        params = evolution_settings(self, options)
        candidates = positive(options.candidates, DEFAULT_CANDIDATES, "--candidates")
        if candidates < params["population"]:
            raise InputError(f"--candidates {candidates} is smaller than --population {params['population']}; "
                             "AREA keeps the best P of M scored candidates")
        return [{**params, "candidates": candidates}]

    def label(self, params: dict) -> str:
        return evolution_label(params)

    def run(self, problem: SearchProblem, params: dict, run_seed: int) -> SearchResult:
        if problem.scorer is None:
            raise ValueError("area needs a scorer")
        rng = rng_for(run_seed)
        ledger = Ledger(Budget.from_json(params["budget"]))
        candidates = problem.domain.sample_candidates(rng, int(params["candidates"]))
        batch = problem.scorer.score(candidates)
        ledger.charge_scoring(float(np.nansum(batch.seconds)), len(candidates))
        keep = np.sort(rank_by_score(batch.values)[: int(params["population"])])  # the best P, in draw order
        population: deque[Member] = deque(query_member(problem, ledger, int(candidates[k])) for k in keep)
        history = list(population)
        evolve(problem, ledger, population, history, rng, int(params["sample_size"]))
        best = fittest(history)
        return SearchResult(arch_index=best[0], queries=ledger.queries, scored=ledger.scored,
                            simulated_seconds=ledger.simulated_seconds, fitness=best[1],
                            best_score=float(np.max(np.where(np.isfinite(batch.values), batch.values, -np.inf))),
                            extra={"history": len(history)})
