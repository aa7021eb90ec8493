"""Regularised evolution (REA; Real et al. 2019) as NB201/NATS simulate it, and the loop AREA reuses.

Mirrors AutoDL-Projects' time-budget ``R_EA.py`` (metrics-spec section 3.2):

* the population (P = 10) starts from uniformly drawn architectures, each queried and charged (the
  initial population is always complete, even if it alone exceeds the budget);
* each cycle: draw S = 3 members *with replacement*, the parent is the fittest of them (first on ties),
  the child is the space's mutation of the parent; if the child's cost would take the total past the
  budget the search stops without it, else it is queried, appended, and the oldest member is removed;
* the pick is the fittest architecture of the whole history (first on ties).

Deliberate difference: the reference also charges the measured wall-clock of each sample-and-mutate
step to the budget. That makes the last cycle depend on machine load, so a run would no longer be a
pure function of its seed and parallel runs would not equal sequential ones; the step takes
microseconds against the minutes of a simulated 12-epoch training, so we leave it out of the budget
and report the algorithm's own wall time separately (``wall_seconds`` in the ``searches`` table).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from naswot_ray.errors import InputError
from naswot_ray.search import register_search
from naswot_ray.search.base import SearchAlgorithm, SearchOptions, SearchProblem, SearchResult, positive, rng_for
from naswot_ray.search.budget import Budget, Ledger

DEFAULT_POPULATION = 10
DEFAULT_SAMPLE_SIZE = 3

Member = tuple[int, float]  # (architecture index, fitness)


def query_member(problem: SearchProblem, ledger: Ledger, index: int) -> Member:
    """Query ``index`` unconditionally (initial population) and charge it."""
    fitness, seconds = problem.oracle.query(index)
    ledger.charge_query(seconds)
    return index, fitness


def evolve(problem: SearchProblem, ledger: Ledger, population: deque[Member], history: list[Member],
           rng: np.random.Generator, sample_size: int) -> None:
    """REA cycles until the budget is spent; ``population`` and ``history`` are updated in place."""
    while not ledger.exhausted():
        picks = rng.integers(0, len(population), size=sample_size)
        parent = max((population[int(p)] for p in picks), key=lambda member: member[1])
        child = problem.domain.mutate(parent[0], rng)
        fitness, seconds = problem.oracle.query(child)
        if not ledger.affords(seconds):
            break
        ledger.charge_query(seconds)
        population.append((child, fitness))
        history.append((child, fitness))
        population.popleft()


def fittest(history: list[Member]) -> Member:
    """The fittest member (the first of equals)."""
    return max(history, key=lambda member: member[1])


def evolution_settings(algorithm: SearchAlgorithm, options: SearchOptions) -> dict:
    """P, S and the budget, validated; shared by REA and AREA."""
    if options.budget is None:
        raise InputError(f"{algorithm.name} needs a budget: --budget-queries Q or --budget-seconds S "
                         "(the paper: 12000 simulated seconds)")
    population = positive(options.population, DEFAULT_POPULATION, "--population")
    sample_size = positive(options.sample_size, DEFAULT_SAMPLE_SIZE, "--sample-size")
    if options.budget.kind == "queries" and options.budget.limit < population:
        raise InputError(f"--budget-queries {int(options.budget.limit)} is smaller than the initial population "
                         f"(--population {population}); give at least {population}")
    return {"population": population, "sample_size": sample_size, "budget": options.budget.to_json()}


def evolution_label(params: dict) -> str:
    extra = f" M={params['candidates']}" if "candidates" in params else ""
    return f"P={params['population']} S={params['sample_size']}{extra}, {Budget.from_json(params['budget']).label}"


@register_search("rea")
class RegularisedEvolution(SearchAlgorithm):
    name = "rea"
    description = "regularised evolution: population P, tournament of S drawn with replacement, oldest removed"
    uses_fitness = True
    default_runs = 50

    def settings(self, options: SearchOptions) -> list[dict]:
        self.reject(options, "n", "candidates")
        self.reject_extra(options)
        return [evolution_settings(self, options)]

    def label(self, params: dict) -> str:
        return evolution_label(params)

    def run(self, problem: SearchProblem, params: dict, run_seed: int) -> SearchResult:
        rng = rng_for(run_seed)
        ledger = Ledger(Budget.from_json(params["budget"]))
        population: deque[Member] = deque()
        for index in problem.domain.sample(rng, int(params["population"])):
            population.append(query_member(problem, ledger, int(index)))
        history = list(population)
        evolve(problem, ledger, population, history, rng, int(params["sample_size"]))
        best = fittest(history)
        return SearchResult(arch_index=best[0], queries=ledger.queries, scored=0,
                            simulated_seconds=ledger.simulated_seconds, fitness=best[1],
                            extra={"history": len(history)})
