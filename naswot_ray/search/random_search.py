"""Random search: "train" uniformly drawn architectures until the budget is spent, keep the fittest.

``--n N`` is the same search with a budget of N queries (``--n 1`` is the paper's "Random" row: one
random architecture); ``--budget-seconds S`` is NB201's RS baseline (12000 s in the paper).

Rule (AutoDL-Projects' random-search simulation): while spent < budget, draw, query; a draw whose cost
would exceed the budget is dropped and the search stops. The first draw is always charged, so every run
returns an architecture. The pick is the highest fitness in the history (first on ties).
"""

from __future__ import annotations

from naswot_ray.errors import InputError
from naswot_ray.search import register_search
from naswot_ray.search.base import SearchAlgorithm, SearchOptions, SearchProblem, SearchResult, rng_for
from naswot_ray.search.budget import Budget, Ledger


@register_search("random")
class RandomSearch(SearchAlgorithm):
    name = "random"
    description = "random search: query uniformly drawn architectures until the budget is spent, keep the fittest"
    uses_fitness = True
    default_runs = 500

    def settings(self, options: SearchOptions) -> list[dict]:
        self.reject(options, "population", "sample_size", "candidates")
        self.reject_extra(options)
        if options.n and options.budget is not None:
            raise InputError("random takes --n N (N queries) or a budget (--budget-queries/--budget-seconds), not both")
        if options.n:
            for n in options.n:
                if n < 1:
                    raise InputError(f"--n must be at least 1, got {n}")
            return [{"n": int(n), "budget": Budget("queries", n).to_json()} for n in dict.fromkeys(options.n)]
        if options.budget is None:
            raise InputError("random needs --n N (N random architectures) or a budget: --budget-queries Q or "
                             "--budget-seconds S")
        return [{"budget": options.budget.to_json()}]

    def label(self, params: dict) -> str:
        if "n" in params:
            return f"N={params['n']}"
        return f"budget {Budget.from_json(params['budget']).label}"

    def run(self, problem: SearchProblem, params: dict, run_seed: int) -> SearchResult:
        rng = rng_for(run_seed)
        ledger = Ledger(Budget.from_json(params["budget"]))
        best_index, best_fitness = -1, float("-inf")
        while ledger.queries == 0 or not ledger.exhausted():
            index = int(problem.domain.sample(rng, 1)[0])
            fitness, seconds = problem.oracle.query(index)
            if ledger.queries > 0 and not ledger.affords(seconds):
                break
            ledger.charge_query(seconds)
            if fitness > best_fitness:  # strict: the first of equal fitnesses stays
                best_index, best_fitness = index, fitness
        return SearchResult(arch_index=best_index, queries=ledger.queries, scored=0,
                            simulated_seconds=ledger.simulated_seconds, fitness=best_fitness)
