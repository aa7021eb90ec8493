"""Search algorithms over a space, an accuracy oracle and a scorer: NASWOT Algorithm 1, random, REA, AREA.

Everything here is pure (no Ray): the engine (``naswot_ray/engine/search_runner.py``) runs the same
functions as Ray tasks, and the CLI (``naswot-ray search NAME``) finds algorithms in :data:`SEARCHES`.

Adding an algorithm (e.g. a TE-NAS pruning search, ``tenas``) is one module in this package, listed in
the registry's ``modules`` below, with one class:

.. code-block:: python

    @register_search("tenas")
    class TenasSearch(SearchAlgorithm):
        name = "tenas"
        description = "TE-NAS: prune a supernet by NTK condition number and linear regions"
        uses_scores = False     # True: needs problem.scorer (stored or --live scores)
        uses_fitness = False    # True: queries trained accuracies (fitness column must cover the space)
        default_runs = 4

        def settings(self, options: SearchOptions) -> list[dict]:
            # one JSON-able params dict per summary row; read options.extra for --param KEY=VALUE,
            # raise InputError (self.reject / self.reject_extra) for options that do not apply
            ...

        def run(self, problem: SearchProblem, params: dict, run_seed: int) -> SearchResult:
            # a pure function: all randomness from rng_for(run_seed); look accuracies up with
            # problem.oracle.query(i) (charge them to a Ledger), score with problem.scorer.score(indices)
            ...

The CLI, the Ray runner, the ``searches`` table and the summary pick it up from the registry;
``naswot-ray search tenas --param KEY=VALUE ...`` passes algorithm-specific options without a new flag.

Conventions every algorithm keeps:

* Scores are higher-is-better (lower-is-better metrics are negated on load); NaN (failed) and ``-inf``
  (singular kernel) never win while a finite score exists; ties go to the first drawn; if no drawn score
  is finite, the first drawn architecture is chosen (:func:`best_by_score`).
* Budgets (:class:`Budget`) are trained-accuracy queries or simulated seconds; a candidate whose cost
  would exceed the budget is not added (the reference REA rule, :class:`Ledger`).
* The result names one architecture; the runner looks up its report accuracies (200-epoch on NB201).
"""

from __future__ import annotations

from naswot_ray.registry import Registry
from naswot_ray.search.base import (Domain, SearchAlgorithm, SearchOptions, SearchProblem, SearchResult, positive,
                                    rng_for)
from naswot_ray.search.budget import Budget, Ledger
from naswot_ray.search.oracle import AccuracyOracle, Column
from naswot_ray.search.scorer import ScoreBatch, Scorer, StoredScores, best_by_score, known_sum, rank_by_score

SEARCHES: Registry[SearchAlgorithm] = Registry("search algorithm", package="naswot_ray.search",
                                              modules=("naswot", "random_search", "rea", "area", "tenas"))
register_search = SEARCHES.register


def get_algorithm(name: str) -> SearchAlgorithm:
    """The algorithm registered as ``name``; unknown names raise a one-line InputError."""
    return SEARCHES.instance(name)


def algorithm_names() -> list[str]:
    return SEARCHES.names()


__all__ = ["SEARCHES", "register_search", "get_algorithm", "algorithm_names", "AccuracyOracle", "Budget", "Column",
           "Domain", "Ledger", "ScoreBatch", "Scorer", "SearchAlgorithm", "SearchOptions", "SearchProblem",
           "SearchResult", "StoredScores", "best_by_score", "known_sum", "positive", "rank_by_score", "rng_for"]
