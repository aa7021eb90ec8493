"""The ``score-all`` driver: resume, start workers, pull results, write parts, summarise.

Flow: validate the job; draw the batch once; work out which keys the store already holds (resume);
start (or join) Ray; start one sampler and N scorer actors; keep one ``score_next`` call in flight per
scorer; write returned rows as atomic part files; requeue the chunk of any scorer that dies; finish
with a summary row in the ``runs`` table. A driver killed at any point loses only unflushed rows,
which the next run with the same store recomputes.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import ray

import naswot_ray
from naswot_ray.data.base import Batch
from naswot_ray.data.sources import draw_batch
from naswot_ray.engine.actors import SamplerActor, ScorerActor
from naswot_ray.engine.dedupe import SharePlan, plan_sharing, share_rows
from naswot_ray.engine.job import ScoreJob, device_class
from naswot_ray.engine.progress import Progress
from naswot_ray.engine.worker import score_identity, score_row
from naswot_ray.store import Store

log = logging.getLogger("naswot_ray.engine")


@dataclass
class RunSummary:
    run_id: str
    requested: int = 0
    skipped: int = 0
    scored: int = 0
    failed: int = 0
    rows_written: int = 0
    wall_seconds: float = 0.0
    workers: int = 0
    requeued: int = 0
    #: architectures whose rows were copied from an isomorphic one (--dedupe)
    shared: int = 0
    store_problems: list[str] = field(default_factory=list)

    @property
    def archs_per_second(self) -> float:
        return self.scored / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def lines(self) -> list[str]:
        out = [
            f"run {self.run_id}: requested {self.requested}, already stored {self.skipped}, "
            f"scored {self.scored}, failed {self.failed}, rows written {self.rows_written}",
            f"wall time {self.wall_seconds:.1f} s, {self.archs_per_second:.2f} archs/s on {self.workers} workers"
            + (f", {self.requeued} archs requeued after worker loss" if self.requeued else "")
            + (f", {self.shared} shared from isomorphic cells (--dedupe)" if self.shared else ""),
        ]
        out += [f"store problem (quarantined, keys rescored): {p}" for p in self.store_problems]
        return out


class PartWriter:
    """Buffers rows and writes them as part files; never writes a key twice in one run."""

    def __init__(self, store: Store, run_id: str, known_keys: set[str], flush_rows: int, flush_seconds: float):
        self.store, self.run_id = store, run_id
        self.known = known_keys
        self.buffer: list[dict] = []
        self.flush_rows, self.flush_seconds = flush_rows, flush_seconds
        self.last_flush = time.monotonic()
        self.written = 0

    def add(self, rows: list[dict]) -> list[dict]:
        fresh = [r for r in rows if r["key"] not in self.known]
        for row in fresh:
            self.known.add(row["key"])
        self.buffer.extend(fresh)
        if len(self.buffer) >= self.flush_rows or time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()
        return fresh

    def flush(self) -> None:
        if self.buffer:
            self.store.write("scores", self.buffer, tag=self.run_id[:8])
            self.written += len(self.buffer)
            self.buffer = []
        self.last_flush = time.monotonic()


def expected_keys(job: ScoreJob, batch: Batch, index: int) -> list[str]:
    """The score keys a complete result for architecture ``index`` consists of (one per metric).

    ``job.device`` is resolved by then (:func:`resolve_device`), so the keys name the device class and
    memory format the scorers will use.
    """
    space = job.resolved_space()
    device = str(job.device)
    return [score_identity(job, space, batch, request, index, device_class=device_class(device),
                           memory_format=job.memory_format(device)).key()
            for request in job.metric_requests()]


def resolve_device(job: ScoreJob, cluster_gpus: float | None) -> str:
    """The device every scorer of this run uses: ``--device``, else cuda when GPUs are asked for or present.

    ``cluster_gpus`` is None for a local run not yet started (this machine's CUDA decides then).
    """
    if job.device:
        return job.device
    if job.gpus_per_worker is not None:
        return "cuda"
    if cluster_gpus is None:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cuda" if cluster_gpus > 0 else "cpu"


def run_score_all(job: ScoreJob, *, command: str = "score-all",
                  on_progress: Callable[[RunSummary], None] | None = None) -> RunSummary:
    """Score every requested architecture not yet in the store. Returns the run summary.

    ``on_progress`` (if given) is called with the running summary after every chunk (benchmarks use
    it to sample memory against the number of architectures scored).
    """
    job.validate()
    started = time.monotonic()
    started_at = datetime.now(timezone.utc)
    run_id = f"{started_at:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
    summary = RunSummary(run_id=run_id)
    store = Store(job.store)
    space = job.resolved_space()
    requested = job.requested_indices()
    summary.requested = len(requested)

    batch = draw_batch(job.batch)
    started_ray = False
    if job.address:
        started_ray = _ensure_ray(job)
        job.device = resolve_device(job, float(ray.cluster_resources().get("GPU", 0)))
    else:
        job.device = resolve_device(job, None)
    existing = store.existing_keys(space=space.name, ok_only=job.retry_errors)
    moved = store.quarantine()
    summary.store_problems = [f"{p.path}: {p.reason}" for p in moved]
    todo = [i for i in requested if not all(k in existing for k in expected_keys(job, batch, i))]
    summary.skipped = len(requested) - len(todo)
    _write_run(store, run_id, job, command, "running", summary, started_at)
    share = SharePlan(to_score=todo)
    if job.dedupe:
        todo_set = set(todo)
        share = plan_sharing(space, todo, [i for i in requested if i not in todo_set])
        summary.shared = share.shared
    writer_keys = existing if not job.retry_errors else store.existing_keys(space=space.name, ok_only=True)
    if share.from_store:
        copier = PartWriter(store, run_id, writer_keys, job.flush_rows, job.flush_seconds)
        copier.add(_copy_from_store(store, job, batch, space, share.from_store, run_id))
        copier.flush()
        summary.scored += len(share.from_store)
    todo = share.to_score
    if not todo:
        summary.wall_seconds = time.monotonic() - started
        _write_run(store, run_id, job, command, "finished", summary, started_at)
        if started_ray:
            ray.shutdown()
        return summary

    started_ray = _ensure_ray(job) or started_ray
    writer = PartWriter(store, run_id, writer_keys, job.flush_rows, job.flush_seconds)
    progress = Progress(total=len(todo), enabled=job.progress, desc=f"{space.name} {','.join(job.metrics)}")
    status = "failed"
    actors: list = []
    try:
        num_workers, gpus, cpus, threads = _worker_shape(job)
        chunk = job.chunk_size or max(1, min(16, len(todo) // (num_workers * 8) or 1))
        namespace = f"naswot-{run_id}"
        sampler = SamplerActor.options(
            name="sampler", namespace=namespace, scheduling_strategy=_here(),
        ).remote(todo, chunk, run_id=run_id)
        batch_ref = ray.put(batch)  # shipped once; every scorer resolves the same object
        scorers = {i: _start_scorer(job, batch_ref, i, run_id, namespace, gpus, cpus, threads) for i in range(num_workers)}
        generations = dict.fromkeys(scorers, 0)
        actors = [sampler, *scorers.values()]
        summary.workers = num_workers
        inflight = {scorers[i].score_next.remote(sampler): i for i in scorers}
        idle: set[int] = set()
        while True:
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=1.0) if inflight else ([], [])
            for ref in ready:
                i = inflight.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    # the scorer (or its node) died: requeue its chunk, replace it, carry on
                    abandoned = ray.get(sampler.requeue_worker.remote(f"scorer-{i}"))
                    summary.requeued += 1
                    log.warning("scorer-%d lost (%s); its chunk was requeued", i, type(exc).__name__)
                    if abandoned:
                        fresh = writer.add(_abandoned_rows(job, batch, space, abandoned, run_id))
                        summary.failed += len({r["arch_index"] for r in fresh})
                        progress.update(len(abandoned), failed=summary.failed)
                    _kill(scorers[i])
                    generations[i] += 1
                    scorers[i] = _start_scorer(job, batch_ref, i, run_id, namespace, gpus, cpus, threads,
                                               generation=generations[i])
                    actors.append(scorers[i])
                    inflight[scorers[i].score_next.remote(sampler)] = i
                    continue
                if result is None:
                    idle.add(i)
                    continue
                lease_id, rows, _info = result
                # the scorer's next chunk first, so it never waits while this one is written
                inflight[scorers[i].score_next.remote(sampler, lease_id)] = i
                for representative in {r["arch_index"] for r in rows} & share.followers.keys():
                    mine = [r for r in rows if r["arch_index"] == representative]
                    rows = rows + share_rows(mine, share.followers[representative], space, run_id=run_id)
                fresh = writer.add(rows)
                archs = {r["arch_index"] for r in fresh}
                failed_archs = {r["arch_index"] for r in fresh if r["status"] == "error"}
                summary.failed += len(failed_archs)
                summary.scored += len(archs - failed_archs)
                progress.update(len({r["arch_index"] for r in rows if r.get("shared_from") is None}),
                                failed=summary.failed)
                if on_progress is not None:
                    on_progress(summary)
            if ready and len(idle) < len(scorers):
                continue
            # Quiet second, or every scorer idle: finished once nothing is pending or leased (a
            # replacement scorer that cannot be placed, e.g. after losing a node, must not hang the
            # run); otherwise wake idle scorers if a requeue brought work back.
            stats = ray.get(sampler.stats.remote())
            if stats["pending"] == 0 and stats["leased"] == 0:
                break
            if stats["pending"] and idle:
                for i in idle:
                    inflight[scorers[i].score_next.remote(sampler)] = i
                idle.clear()
        writer.flush()
        status = "finished"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        try:
            writer.flush()
        finally:
            progress.close()
            summary.rows_written = writer.written
            summary.wall_seconds = time.monotonic() - started
            _write_run(store, run_id, job, command, status, summary, started_at)
            for actor in actors:
                _kill(actor)
            if started_ray:
                ray.shutdown()
    return summary


# -- helpers ----------------------------------------------------------------------------------

def _ensure_ray(job: ScoreJob) -> bool:
    """Join ``job.address`` or start a local Ray; returns True when we started it (and must stop it)."""
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    kwargs: dict = {"log_to_driver": False, "logging_level": logging.WARNING, "namespace": "naswot-ray"}
    if job.address:
        ray.init(address=job.address, **kwargs)
    else:
        ray.init(include_dashboard=job.dashboard, dashboard_host="127.0.0.1", **kwargs)
    return True


def _worker_shape(job: ScoreJob) -> tuple[int, float, float, int]:
    """(workers, GPUs per worker, CPUs per worker, torch threads per worker) for this cluster.

    GPU mode when the cluster has GPUs, or when the user asks for them (``--gpus-per-worker`` or
    ``--device cuda``) even if none has joined yet: on an autoscaling cluster the pending GPU actors
    are what makes the autoscaler add GPU nodes.
    """
    resources = ray.cluster_resources()
    total_gpus = float(resources.get("GPU", 0))
    total_cpus = float(resources.get("CPU", 1))
    wants_gpu = job.gpus_per_worker is not None or (job.device or "").startswith("cuda")
    if (total_gpus > 0 and job.device != "cpu") or wants_gpu:
        gpus = job.gpus_per_worker or 1.0
        workers = job.num_workers or max(1, int(total_gpus / gpus))
        cpus = min(1.0, total_cpus / workers) if total_cpus else 1.0
        return workers, gpus, cpus, 1
    cpus = job.cpus_per_worker
    workers = job.num_workers or max(1, int(total_cpus / cpus))
    return workers, 0.0, cpus, max(1, int(cpus))


def _start_scorer(job, batch_ref, i: int, run_id: str, namespace: str, gpus: float, cpus: float, threads: int,
                  generation: int = 0):
    """Scorer ``i`` (actor name ``scorer-<i>``, or ``scorer-<i>-r<k>`` for its k-th replacement)."""
    name = f"scorer-{i}"
    options = dict(
        name=name if not generation else f"{name}-r{generation}", namespace=namespace,
        num_cpus=cpus, num_gpus=gpus, max_restarts=0,  # the driver replaces dead scorers itself
        scheduling_strategy="SPREAD",
    )
    return ScorerActor.options(**options).remote(job, batch_ref, name, run_id, threads)


def _kill(actor) -> None:
    try:
        ray.kill(actor, no_restart=True)
    except Exception:  # already dead, or its node is gone
        pass


def _here():
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)


def _abandoned_rows(job: ScoreJob, batch: Batch, space, indices: list[int], run_id: str) -> list[dict]:
    """Error rows for architectures that killed their worker every time they were tried alone."""
    message = "worker process died while scoring this architecture alone (twice)"
    device = str(job.device)
    return [score_row(job, space, batch, index=index, arch=space.arch(index), request=request,
                      value=None, error=message, seconds=0.0, worker="", run_id=run_id, device="",
                      device_class=device_class(device), memory_format=job.memory_format(device))
            for index in indices for request in job.metric_requests()]


def _copy_from_store(store: Store, job: ScoreJob, batch: Batch, space, sources: dict[int, int],
                     run_id: str) -> list[dict]:
    """Rows for members whose class already has a stored member (``--dedupe`` resume)."""
    wanted = {}
    for member, source in sources.items():
        for key in expected_keys(job, batch, source):
            wanted.setdefault(key, []).append(member)
    stored = [r for r in store.read("scores").to_pylist() if r["key"] in wanted and r["status"] == "ok"]
    rows: list[dict] = []
    for row in stored:
        rows += share_rows([row], wanted[row["key"]], space, run_id=run_id)
    return rows


def _write_run(store: Store, run_id: str, job: ScoreJob, command: str, status: str, summary: RunSummary,
               started_at: datetime) -> None:
    import torch

    versions = {"naswot_ray": naswot_ray.__version__, "torch": torch.__version__, "ray": ray.__version__,
                "python": platform.python_version()}
    store.write("runs", [{
        "run_id": run_id, "command": command, "status": status, "config": job.config_json(),
        "versions": json.dumps(versions, sort_keys=True), "host": socket.gethostname(),
        "requested": summary.requested, "skipped": summary.skipped, "scored": summary.scored,
        "failed": summary.failed, "wall_seconds": summary.wall_seconds, "started_at": started_at,
        "created_at": datetime.now(timezone.utc),
    }], tag=run_id[-8:])
