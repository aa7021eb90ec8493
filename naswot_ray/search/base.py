"""What every search algorithm works on and returns.

A run is a pure function ``algorithm.run(problem, params, run_seed) -> SearchResult``:

* ``problem`` (:class:`SearchProblem`) bundles the space, where scored candidates are drawn from
  (:class:`Domain`), the accuracy oracle and, for score-based searches, the scorer;
* ``params`` is a JSON-able dict made by ``algorithm.settings(options)`` (one per summary row, e.g.
  one per N), stored verbatim in the ``searches`` table;
* ``run_seed`` seeds the run's only random generator, so a run gives the same result wherever and in
  whatever order it executes (a Ray task, a loop, another machine).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from naswot_ray.errors import InputError
from naswot_ray.search.budget import Budget
from naswot_ray.search.oracle import AccuracyOracle
from naswot_ray.search.scorer import Scorer
from naswot_ray.spaces.base import SearchSpace


@dataclass
class Domain:
    """Sampling and mutation over a space, by index.

    ``pool`` restricts where *scored candidates* (NASWOT's N, AREA's M) are drawn from: None means the
    whole space (the papers' protocol); an index array means "only these", used with ``--within-scored``
    when the store holds scores for part of the space. Mutation always moves in the whole space.
    """

    space: SearchSpace
    pool: np.ndarray | None = None

    @property
    def size(self) -> int:
        assert self.space.size is not None
        return int(self.space.size)

    def sample_candidates(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` indices drawn uniformly with replacement from the pool (or the space)."""
        if self.pool is None:
            return np.asarray(self.space.sample(rng, n), dtype=np.int64)
        return self.pool[rng.integers(0, len(self.pool), size=n)]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` indices drawn uniformly with replacement from the whole space (REA/random search)."""
        return np.asarray(self.space.sample(rng, n), dtype=np.int64)

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        """The index of a neighbour of ``index`` (the space's mutation: one decision changed)."""
        return int(self.space.index(self.space.mutate(self.space.arch(int(index)), rng)))


@dataclass
class SearchProblem:
    """Everything a run may look at. Picklable, so it is shipped once to every Ray worker."""

    domain: Domain
    oracle: AccuracyOracle
    scorer: Scorer | None = None

    @property
    def space(self) -> SearchSpace:
        return self.domain.space


@dataclass
class SearchResult:
    """The outcome of one run.

    ``queries`` counts trained-accuracy lookups, ``scored`` scoring calls; ``simulated_seconds`` is the
    simulated training time of the queries plus the measured scoring time of the scored candidates (NaN
    where the table has no training times and the run made queries).
    """

    arch_index: int
    queries: int = 0
    scored: int = 0
    simulated_seconds: float = 0.0
    best_score: float | None = None
    fitness: float | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class SearchOptions:
    """The generic options the CLI passes to every algorithm; None = not given (the algorithm's default).

    ``extra`` holds ``--param KEY=VALUE`` pairs (as strings) for options only one algorithm knows, so a
    new algorithm needs no new CLI flag.
    """

    n: list[int] | None = None
    budget: Budget | None = None
    population: int | None = None
    sample_size: int | None = None
    candidates: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


class SearchAlgorithm(ABC):
    """A registered search. Subclasses set the class attributes and implement the two methods."""

    name: str = ""
    description: str = ""
    #: needs ``problem.scorer`` (stored or live training-free scores)
    uses_scores: bool = False
    #: queries trained accuracies during the search (so the fitness column must cover the space)
    uses_fitness: bool = False
    #: runs per setting when ``--runs`` is not given (the papers: 500 for Algorithm 1, 50 for REA/AREA)
    default_runs: int = 500

    @abstractmethod
    def settings(self, options: SearchOptions) -> list[dict]:
        """One JSON-able params dict per summary row; InputError for options that do not apply."""

    @abstractmethod
    def run(self, problem: SearchProblem, params: dict, run_seed: int) -> SearchResult:
        """One run: a pure function of its arguments."""

    def label(self, params: dict) -> str:
        """How a setting is named in the summary (e.g. ``N=100``)."""
        return ", ".join(f"{k}={v}" for k, v in params.items())

    # -- helpers for settings() ----------------------------------------------------------------
    def reject(self, options: SearchOptions, *names: str) -> None:
        """InputError if any of ``names`` (SearchOptions fields) was given: it does not apply here."""
        flags = {"n": "--n", "budget": "--budget-queries/--budget-seconds", "population": "--population",
                 "sample_size": "--sample-size", "candidates": "--candidates"}
        for name in names:
            if getattr(options, name) is not None:
                raise InputError(f"{flags[name]} does not apply to search {self.name!r}")

    def reject_extra(self, options: SearchOptions, allowed: tuple[str, ...] = ()) -> None:
        """InputError for a ``--param KEY=VALUE`` this algorithm does not know."""
        unknown = sorted(set(options.extra) - set(allowed))
        if unknown:
            valid = ", ".join(allowed) or "none"
            raise InputError(f"unknown --param {unknown[0]!r} for search {self.name!r}; valid: {valid}")


def positive(value: int | None, default: int, flag: str) -> int:
    """``value`` (or ``default``) checked to be a positive integer."""
    chosen = default if value is None else value
    if chosen < 1:
        raise InputError(f"{flag} must be at least 1, got {chosen}")
    return int(chosen)


def rng_for(run_seed: int) -> np.random.Generator:
    """The one random generator of a run."""
    return np.random.default_rng(run_seed)


__all__ = ["Domain", "SearchAlgorithm", "SearchOptions", "SearchProblem", "SearchResult", "positive", "rng_for"]
