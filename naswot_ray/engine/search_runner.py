"""Running searches: many runs as batched Ray tasks, live scoring on the engine's scorer actors.

Flow of ``run_search``: validate and load (``naswot_ray.search.job.prepare``: the oracle and stored
scores become numpy arrays once); for ``--live``, draw the batch once and start the same
:class:`ScorerActor` s that ``score-all`` uses; run every (setting, run) either in this process or as Ray
tasks, each task running a contiguous batch of runs with the pure ``execute`` loop on the problem shipped
once with ``ray.put``; write live score rows to ``scores`` (so a later ``--scores-from-store`` search,
or ``score-all``, reuses them), one row per run to ``searches``, and one row to ``runs``; summarise.

Why tasks and not actors for runs: a run is a pure function of (problem, params, seed), so stateless
tasks are enough, and Ray retries a task whose worker dies with the same inputs and the same result.
"""

from __future__ import annotations

import json
import math
import platform
import socket
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import ray

import naswot_ray
from naswot_ray.data.sources import BatchSpec, draw_batch
from naswot_ray.engine.driver import resolve_device
from naswot_ray.engine.scorers import kill, start_scorer, worker_shape
from naswot_ray.engine.session import connect
from naswot_ray.engine.job import ScoreJob, device_class
from naswot_ray.engine.worker import score_identity
from naswot_ray.metrics import get_metric
from naswot_ray.search.base import SearchProblem
from naswot_ray.search.data import describe_variant
from naswot_ray.search.execution import RunOutcome, RunTask, execute
from naswot_ray.search.job import PreparedSearch, SearchJob, prepare, wants_ray
from naswot_ray.search.records import SEARCHES, search_rows
from naswot_ray.search.scorer import ScoreBatch
from naswot_ray.search.summary import summarise
from naswot_ray.store import Store

#: task batches per CPU: enough to balance uneven runs, few enough that the per-task overhead is negligible
BATCHES_PER_CPU = 4


class LiveScorer:
    """Scores indices on the scorer actors, caching each architecture's result for this process.

    Picklable (actor handles travel with it), so each Ray task gets its own copy and cache; the score
    rows it produced are collected with :meth:`drain_rows` and written by the driver.
    """

    def __init__(self, actors: Sequence, metric: str, source: str) -> None:
        self.actors = list(actors)
        self.metric = metric
        self.sign = 1.0 if get_metric(metric).higher_is_better else -1.0
        self.source = source
        self.cache: dict[int, tuple[float, float]] = {}
        self.rows: list[dict] = []
        self._turn = 0

    def score(self, indices: Sequence[int]) -> ScoreBatch:
        todo = list(dict.fromkeys(int(i) for i in indices if int(i) not in self.cache))
        if todo:
            shares = [todo[k::len(self.actors)] for k in range(len(self.actors))]
            refs = []
            for k, share in enumerate(shares):
                if share:
                    actor = self.actors[(self._turn + k) % len(self.actors)]
                    refs.append(actor.score_indices.remote(share))
            self._turn = (self._turn + 1) % len(self.actors)
            for rows in ray.get(refs):
                self.rows.extend(rows)
                for row in rows:
                    if row["metric"] == self.metric:
                        value = float(row["value"]) if row["status"] == "ok" else math.nan
                        self.cache[int(row["arch_index"])] = (self.sign * value, float(row["seconds"]))
        pairs = [self.cache[int(i)] for i in indices]
        return ScoreBatch(np.array([p[0] for p in pairs], dtype=np.float64),
                          np.array([p[1] for p in pairs], dtype=np.float64))

    def drain_rows(self) -> list[dict]:
        rows, self.rows = self.rows, []
        return rows


@ray.remote(max_retries=2)
def _run_batch(algorithm: str, problem: SearchProblem, settings: list[dict], tasks: list[RunTask]
               ) -> tuple[list[RunOutcome], list[dict]]:
    """A contiguous batch of runs in one worker; returns the outcomes and any live score rows."""
    outcomes = execute(algorithm, problem, settings, tasks)
    drain = getattr(problem.scorer, "drain_rows", None)
    return outcomes, (drain() if drain else [])


def run_on_ray(algorithm: str, problem: SearchProblem, settings: list[dict], tasks: Sequence[RunTask], *,
               batches: int | None = None, cpus_per_task: float = 1.0) -> tuple[list[RunOutcome], list[dict]]:
    """Run ``tasks`` as Ray tasks (Ray must be initialised); outcomes come back in ``tasks`` order."""
    if not tasks:
        return [], []
    if batches is None:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        batches = BATCHES_PER_CPU * cpus
    chunks = [list(c) for c in np.array_split(np.arange(len(tasks)), min(len(tasks), max(1, batches))) if len(c)]
    problem_ref = ray.put(problem)  # the arrays travel once; every task reads the same object
    remote = _run_batch.options(num_cpus=cpus_per_task)
    refs = [remote.remote(algorithm, problem_ref, settings, [tasks[i] for i in chunk]) for chunk in chunks]
    outcomes: list[RunOutcome] = []
    rows: list[dict] = []
    for batch_outcomes, batch_rows in ray.get(refs):
        outcomes.extend(batch_outcomes)
        rows.extend(batch_rows)
    return outcomes, rows


@dataclass
class SearchOutcome:
    """What a search invocation produced."""

    run_id: str
    prepared: PreparedSearch
    rows: list[dict]
    summary: pd.DataFrame
    executor: str
    wall_seconds: float
    scores_written: int = 0
    notes: list[str] = field(default_factory=list)


def live_score_job(prepared: PreparedSearch) -> ScoreJob:
    """The ``score-all`` job whose scorer actors a live search uses (validated, nothing started)."""
    job = prepared.job
    space = prepared.problem.space
    seed = 1 if job.score_seed is None else job.score_seed
    score_job = ScoreJob(space=space.name, metrics=[get_metric(job.metric).name],
                         batch=BatchSpec(dataset=job.dataset, batch_size=job.batch_size, seed=seed,
                                         data_root=job.data_root, norm=job.norm, image_size=space.input_size),
                         store=job.store, mode=job.mode, seed=seed, num_workers=job.num_workers,
                         gpus_per_worker=job.gpus_per_worker, device=job.device, address=job.address,
                         progress=False, dashboard=False)
    score_job.validate()
    return score_job


def start_live_scorer(score_job: ScoreJob, run_id: str) -> tuple[LiveScorer, list]:
    """Draw the batch once, start the scorer actors, and wrap them in a :class:`LiveScorer`."""
    score_job.resolved_space().prepare(progress=score_job.progress, note=lambda line: print(line, file=sys.stderr))
    batch = draw_batch(score_job.batch)
    metric = get_metric(score_job.metrics[0])
    score_job.device = resolve_device(score_job, float(ray.cluster_resources().get("GPU", 0)))
    device = str(score_job.device)
    variant = score_identity(score_job, score_job.resolved_space(), batch, score_job.metric_requests()[0], 0,
                             device_class=device_class(device), memory_format=score_job.memory_format(device)).columns()
    source = "live:" + describe_variant(variant, None, batch.provenance.dataset, metric.name)
    shape = worker_shape(score_job)
    batch_ref = ray.put(batch)
    namespace = f"naswot-search-{run_id}"
    actors = [start_scorer(score_job, batch_ref, f"scorer-{i}", run_id, namespace, shape) for i in range(shape.count)]
    return LiveScorer(actors, metric.name, source), actors


def run_search(job: SearchJob) -> SearchOutcome:
    """Run every (setting, run) of ``job``, store the results, and summarise them."""
    started = time.monotonic()
    started_at = datetime.now(timezone.utc)
    run_id = f"{started_at:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
    prepared = prepare(job)
    score_job = live_score_job(prepared) if job.live else None
    use_ray = wants_ray(prepared)
    store = Store(job.store)
    session = None
    actors: list = []
    score_rows: list[dict] = []
    try:
        if use_ray or job.live:
            session = connect(job.address, dashboard=False)
        if score_job is not None:
            live, actors = start_live_scorer(score_job, run_id)
            prepared.problem.scorer = live
            prepared.score_source = live.source
        if use_ray:
            outcomes, score_rows = run_on_ray(prepared.algorithm.name, prepared.problem, prepared.settings,
                                              prepared.tasks, cpus_per_task=0.0 if job.live else 1.0,
                                              batches=2 * len(actors) if job.live else None)
        else:
            outcomes = execute(prepared.algorithm.name, prepared.problem, prepared.settings, prepared.tasks)
            drain = getattr(prepared.problem.scorer, "drain_rows", None)
            score_rows = drain() if drain else []
    finally:
        for actor in actors:
            kill(actor)
        if session is not None:
            session.close()
    rows = search_rows(algorithm=prepared.algorithm.name, problem=prepared.problem, settings=prepared.settings,
                       outcomes=outcomes, seed=job.seed, run_id=run_id, score_source=prepared.score_source)
    written = 0
    if job.write:
        written = _write_scores(store, score_rows)
        store.write(SEARCHES, rows, tag=run_id[-8:])
    wall = time.monotonic() - started
    if job.write:
        _write_run(store, run_id, job, len(rows), wall, started_at)
    summary = summarise(rows, prepared.report_labels)
    return SearchOutcome(run_id, prepared, rows, summary, "ray" if use_ray else "local", wall, written,
                         list(prepared.notes))


def _write_scores(store: Store, rows: list[dict]) -> int:
    """Live score rows not yet in the store, once per key (the same keys ``score-all`` would write)."""
    if not rows:
        return 0
    known = store.existing_keys(space=rows[0]["space"])
    fresh = {}
    for row in rows:
        if row["key"] not in known and row["key"] not in fresh:
            fresh[row["key"]] = row
    if fresh:
        store.write("scores", list(fresh.values()), tag="search")
    return len(fresh)


def _write_run(store: Store, run_id: str, job: SearchJob, runs: int, wall: float, started_at: datetime) -> None:
    versions = {"naswot_ray": naswot_ray.__version__, "ray": ray.__version__, "python": platform.python_version()}
    store.write("runs", [{
        "run_id": run_id, "command": f"search {job.algorithm}", "status": "finished",
        "config": json.dumps(job.config(), sort_keys=True, default=str), "versions": json.dumps(versions, sort_keys=True),
        "host": socket.gethostname(), "requested": runs, "skipped": 0, "scored": runs, "failed": 0,
        "wall_seconds": wall, "started_at": started_at, "created_at": datetime.now(timezone.utc),
    }], tag=run_id[-8:])


__all__ = ["LiveScorer", "SearchOutcome", "live_score_job", "run_on_ray", "run_search", "start_live_scorer"]
