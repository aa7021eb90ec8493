"""What one ``naswot-ray search`` invocation asks for, validated and turned into a ready problem.

Kept free of Ray (like the engine's ``ScoreJob``): bad input is rejected with one line before a
cluster is contacted, and the sequential path runs without Ray at all. :func:`prepare` loads the
oracle and, for ``--scores-from-store``, the score arrays; the engine adds live scorers and runs it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from naswot_ray.ensembles import is_ensemble, parse_spec
from naswot_ray.errors import InputError, unknown_choice
from naswot_ray.search import get_algorithm
from naswot_ray.search.base import Domain, SearchAlgorithm, SearchOptions, SearchProblem
from naswot_ray.search.budget import Budget
from naswot_ray.search.data import ScoreSelection, load_oracle, load_stored_scores
from naswot_ray.search.execution import RunTask, plan_runs
from naswot_ray.search.oracle import Column
from naswot_ray.spaces import get_space
from naswot_ray.store import DEFAULT_STORE, Store

SCORE_SOURCES = ("store", "live")
EXECUTORS = ("auto", "local", "ray")
#: ``--executor auto`` runs stored-score searches in-process below this many runs in all: they cost well
#: under a millisecond each, less than starting Ray
AUTO_RAY_RUNS = 5000


@dataclass
class SearchJob:
    algorithm: str
    space: str = "nb201"
    store: str = DEFAULT_STORE
    options: SearchOptions = field(default_factory=SearchOptions)
    runs: int | None = None
    seed: int = 1
    score_source: str | None = None     # store (default) or live
    within_scored: bool = False
    fitness: str | None = None          # DATASET:SPLIT:EPOCHS
    report_epochs: int | None = None
    metric: str = "naswot"              # a metric, or an ensemble of stored ones (ensemble:...)
    mode: str | None = None
    score_seed: int | None = None
    batch: str | None = None            # batch_sha256 prefix of the stored variant
    num_classes: int | None = None      # head size of the stored variant (and of an ensemble's members)
    # live scoring (the engine's scorer actors)
    dataset: str = "cifar10"
    data_root: str | None = None
    norm: str | None = None
    batch_size: int = 128
    num_workers: int | None = None
    gpus_per_worker: float | None = None
    device: str | None = None
    address: str | None = None
    executor: str = "auto"
    write: bool = True

    @property
    def live(self) -> bool:
        return self.score_source == "live"

    def config(self) -> dict:
        data = asdict(self)
        data["options"]["budget"] = self.options.budget.to_json() if self.options.budget else None
        return data


@dataclass
class PreparedSearch:
    """A validated job with its data loaded; ``problem.scorer`` is None until the engine sets a live one."""

    job: SearchJob
    algorithm: SearchAlgorithm
    settings: list[dict]
    runs: int
    problem: SearchProblem
    tasks: list[RunTask]
    score_source: str
    missing_paper_columns: list[str]
    notes: list[str]

    @property
    def report_labels(self) -> list[str]:
        return [c.label for c in self.problem.oracle.report_columns]


def validate(job: SearchJob) -> tuple[SearchAlgorithm, list[dict], int]:
    """Check the job's options without reading the store; returns (algorithm, settings, runs)."""
    algorithm = get_algorithm(job.algorithm)
    settings = algorithm.settings(job.options)
    runs = algorithm.default_runs if job.runs is None else job.runs
    if runs < 1:
        raise InputError(f"--runs must be at least 1, got {runs}")
    if job.executor not in EXECUTORS:
        raise unknown_choice("executor", job.executor, EXECUTORS)
    if job.score_source is not None and job.score_source not in SCORE_SOURCES:
        raise unknown_choice("score source", job.score_source, SCORE_SOURCES)
    if not algorithm.uses_scores and (job.live or job.within_scored):
        # --scores-from-store is the default and harmless here, so scripts may pass it to every algorithm
        flag = "--within-scored" if job.within_scored else "--live"
        raise InputError(f"{flag} does not apply to search {algorithm.name!r}: it uses no training-free scores")
    if job.num_classes is not None and job.num_classes < 1:
        raise InputError(f"--num-classes must be at least 1, got {job.num_classes}")
    if is_ensemble(job.metric):
        if not algorithm.uses_scores:
            raise InputError(f"--metric {job.metric} does not apply to search {algorithm.name!r}: it uses no "
                             "training-free scores")
        parse_spec(job.metric)  # a malformed name fails here, before the store is read
    if job.live:
        if is_ensemble(job.metric):
            raise InputError("an ensemble combines stored scores; score its members with naswot-ray score-all, then "
                             "search with --scores-from-store")
        if job.num_classes is not None:
            raise InputError("--num-classes picks a stored score variant; live scoring uses the dataset's head")
        if job.within_scored:
            raise InputError("--within-scored draws from stored scores; it cannot be combined with --live")
        if job.batch is not None:
            raise InputError("--batch selects a stored score variant; with --live use --dataset/--batch-size/--score-seed")
    if job.report_epochs is not None and job.report_epochs < 1:
        raise InputError(f"--report-epochs must be positive, got {job.report_epochs}")
    if job.fitness is not None:
        Column.parse(job.fitness)
    return algorithm, settings, runs


def prepare(job: SearchJob) -> PreparedSearch:
    """Validate, load the oracle (and stored scores), check coverage, plan the runs."""
    algorithm, settings, runs = validate(job)
    space = get_space(job.space)
    store = Store(job.store)
    if not store.exists():
        raise InputError(f"store {job.store!r} does not exist; import accuracies first with naswot-ray import-benchmark")
    loaded = load_oracle(store, space, fitness=Column.parse(job.fitness) if job.fitness else None,
                         report_epochs=job.report_epochs, need_fitness=algorithm.uses_fitness)
    oracle = loaded.oracle
    notes = []
    if algorithm.uses_fitness:
        oracle.require_fitness_everywhere(algorithm.name)
        if loaded.fitness_defaulted and oracle.fitness_column is not None and oracle.fitness_column.epochs != 12:
            notes.append(f"fitness: {oracle.fitness_column.label} (no 12-epoch cifar10-valid:x-valid in the table)")
    if any(Budget.from_json(s["budget"]).kind == "seconds" for s in settings if "budget" in s):
        oracle.require_times_everywhere()
    domain = Domain(space)
    scorer = None
    score_source = "none"
    if algorithm.uses_scores and not job.live:
        scorer = load_stored_scores(store, space, ScoreSelection(job.metric, job.mode, job.score_seed, job.batch,
                                                                 job.num_classes))
        score_source = scorer.source
        scored = scorer.scored_indices
        if job.within_scored:
            domain = Domain(space, pool=scored.astype(np.int64))
            notes.append(f"candidates drawn from the {len(scored):,} scored architectures only (--within-scored), "
                         f"not from all {oracle.size:,}: not the paper's protocol")
        elif len(scored) < oracle.size:
            missing = oracle.size - len(scored)
            metrics = (",".join(dict.fromkeys(m.partition("[")[0] for m in parse_spec(job.metric).leaves()))
                       if is_ensemble(job.metric) else job.metric)
            what = (f"no stored score of every member of {job.metric}" if is_ensemble(job.metric)
                    else f"no stored {job.metric} score")
            raise InputError(f"{missing:,} of {oracle.size:,} {space.name} architectures have "
                             f"{what} ({score_source}); compute them with naswot-ray "
                             f"score-all --space {space.name} --metrics {metrics} --store {job.store} (same "
                             "--dataset/--seed as the stored ones; it resumes), or pass --within-scored to draw only "
                             "from the scored ones")
    tasks = plan_runs(len(settings), runs, job.seed)
    return PreparedSearch(job=job, algorithm=algorithm, settings=settings, runs=runs,
                          problem=SearchProblem(domain, oracle, scorer), tasks=tasks, score_source=score_source,
                          missing_paper_columns=loaded.missing_paper_columns, notes=notes)


def wants_ray(prepared: PreparedSearch) -> bool:
    """Whether the runs go to Ray: asked for, live scoring, a cluster address, or many runs."""
    job = prepared.job
    if job.executor != "auto":
        return job.executor == "ray"
    return job.live or job.address is not None or len(prepared.tasks) >= AUTO_RAY_RUNS


__all__ = ["AUTO_RAY_RUNS", "EXECUTORS", "PreparedSearch", "SCORE_SOURCES", "SearchJob", "prepare", "validate",
           "wants_ray"]
