"""The ``score-all`` driver: plan -> execute -> write, and a summary.

- plan (:mod:`.plan`): validate the job, draw the batch once, resume against the store, share
  isomorphic cells (``--dedupe``);
- execute: join or start Ray (:mod:`.session`), start the sampler (the queue and the authority over
  what is done) and the scorers (:mod:`.scorers` owns their lifecycle), and keep one ``work`` call in
  flight per scorer, reading only each call's small report;
- write: scorers publish their own rows through the sampler (:mod:`.actors`); the driver writes only
  what no scorer can (:mod:`.writer`); a ``runs`` row records the run.

A driver killed at any point loses only rows not yet published; the next run with the same store
resumes. A scorer killed at any point loses nothing: its unpublished chunks go back to the queue.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import socket
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import ray

import naswot_ray
from naswot_ray.data.base import Batch
from naswot_ray.data.sources import draw_batch
from naswot_ray.engine.actors import SamplerActor, WorkReport, count_archs
from naswot_ray.engine.dedupe import share_rows
from naswot_ray.engine.job import ScoreJob, device_class
from naswot_ray.engine.plan import RunPlan, expected_keys, make_plan
from naswot_ray.engine.progress import Progress
from naswot_ray.engine.scorers import ScorerPool, Slot, worker_shape
from naswot_ray.engine.session import RaySession, check_local_resources, connect
from naswot_ray.engine.worker import score_row
from naswot_ray.engine.writer import DriverWriter
from naswot_ray.store import Store

log = logging.getLogger("naswot_ray.engine")

#: seconds between looks at the cluster for new capacity (elastic scorers) and at pending scorers
CLUSTER_POLL_SECONDS = 5.0


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
    #: scorer slots retired (failed starts, broken devices), with the reason
    retired: list[str] = field(default_factory=list)
    #: slots whose scorer had failed to start and was still being replaced when the run ended
    start_failures: list[str] = field(default_factory=list)
    #: scorers added while running because the cluster grew
    joined: int = 0
    #: scorers (current generation) that have delivered at least one report
    scorers_working: int = 0
    #: error rows the driver wrote for abandoned architectures (not part of any published lease)
    failed_outside_leases: int = 0
    rows_outside_leases: int = 0
    store_problems: list[str] = field(default_factory=list)
    #: what else the driver's store reads met: corrupt parts that could not be moved, transient errors, retries
    store_notes: list[str] = field(default_factory=list)

    @property
    def archs_per_second(self) -> float:
        return self.scored / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def lines(self) -> list[str]:
        workers = f"{self.workers} worker" + ("s" if self.workers != 1 else "")
        if self.requested and self.skipped == self.requested:
            return [f"run {self.run_id}: nothing to do: all {self.requested} requested architectures are already "
                    f"stored ({self.wall_seconds:.1f} s)"] + self._store_problem_lines()
        out = [
            f"run {self.run_id}: requested {self.requested}, already stored {self.skipped}, "
            f"scored {self.scored}, failed {self.failed}, rows written {self.rows_written}",
            f"wall time {self.wall_seconds:.1f} s, {self.archs_per_second:.2f} archs/s on {workers}"
            + (f" ({self.joined} joined while running)" if self.joined else "")
            + (f", {self.requeued} archs requeued after worker loss" if self.requeued else "")
            + (f", {self.shared} shared from isomorphic cells (--dedupe)" if self.shared else ""),
        ]
        out += [f"scorer retired: {reason}" for reason in self.retired]
        out += [f"scorer start failed: {problem}" for problem in self.start_failures]
        return out + self._store_problem_lines()

    def _store_problem_lines(self) -> list[str]:
        # What happened to an unreadable part: it was moved aside, so its rows no longer count; which keys it
        # held cannot be read, so all the run can say is that it scored every requested key no readable part holds.
        return [f"store problem: unreadable part moved to quarantine/, its rows no longer count (this run scored "
                f"every requested key that no readable part holds): {p}" for p in self.store_problems] + self.store_notes


def run_score_all(job: ScoreJob, *, command: str = "score-all",
                  on_progress: Callable[[RunSummary], None] | None = None) -> RunSummary:
    """Score every requested architecture not yet in the store. Returns the run summary.

    ``on_progress`` (if given) is called with the running summary after every scorer report
    (benchmarks use it to sample memory and throughput).
    """
    job.validate()
    started = time.monotonic()
    started_at = datetime.now(timezone.utc)
    run_id = f"{started_at:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
    summary = RunSummary(run_id=run_id)
    store = Store(job.store)
    # scorers run in other processes with other working directories (and on other nodes): they get the
    # store's absolute location, never a path relative to where the driver happened to start
    job.store = store.location
    job.resolved_space().prepare(progress=job.progress, note=lambda line: print(line, file=sys.stderr))
    batch = draw_batch(job.batch)
    session = connect(job.address, dashboard=job.dashboard) if job.address else RaySession(None)
    try:
        job.device = resolve_device(job, float(ray.cluster_resources().get("GPU", 0)) if job.address else None)
        if not job.address:
            check_local_resources(job)
        plan = make_plan(job, batch, store)
        summary.requested, summary.skipped, summary.shared = len(plan.requested), plan.skipped, plan.shared
        summary.store_problems = [f"{p.path}: {p.reason}" for p in store.quarantine()]
        summary.store_notes = store.summary_lines()
        _write_run(store, run_id, job, command, "running", summary, started_at)
        status = "failed"
        try:
            if plan.from_store:
                copier = DriverWriter(store, run_id, None, job.flush_rows, job.flush_seconds)
                copies = _copy_from_store(store, job, batch, plan.from_store, run_id)
                copier.add(copies)
                copier.flush()
                archs, failed = count_archs(copies)
                summary.scored += archs - failed
                summary.failed += failed
                summary.rows_written += copier.take_written()
            if plan.todo:
                if not session.started and not ray.is_initialized():
                    session = connect(None, dashboard=job.dashboard)
                _execute(job, batch, store, plan, run_id, summary, on_progress)
            status = "finished"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            summary.wall_seconds = time.monotonic() - started
            _write_run(store, run_id, job, command, status, summary, started_at)
    finally:
        session.close()
    return summary


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


# -- execute ----------------------------------------------------------------------------------

def _execute(job: ScoreJob, batch: Batch, store: Store, plan: RunPlan, run_id: str, summary: RunSummary,
             on_progress: Callable[[RunSummary], None] | None) -> None:
    """Sampler + scorers until every architecture of ``plan.todo`` is published (or no scorer can work)."""
    progress = Progress(total=len(plan.todo), enabled=job.progress,
                        desc=f"{job.resolved_space().name} {','.join(job.metrics)}")
    namespace = f"naswot-{run_id}"
    sampler = None
    pool: ScorerPool | None = None
    probe = _store_probe(store, run_id) if job.write_path == "auto" else None
    try:
        shape = worker_shape(job)
        workers = shape.count
        chunk = job.chunk_size or max(1, min(16, len(plan.todo) // (workers * 8) or 1))
        sampler = SamplerActor.options(name="sampler", namespace=namespace, scheduling_strategy=_here()).remote(
            plan.todo, chunk, max_attempts=job.max_attempts, run_id=run_id, store_root=job.store)
        writer = DriverWriter(store, run_id, sampler, job.flush_rows, job.flush_seconds)
        batch_ref = ray.put(batch)  # shipped once; every scorer resolves the same object
        pool = ScorerPool(job, batch_ref, run_id, namespace, followers=plan.followers, store_probe=probe,
                          note=progress.note)
        pool.add(workers)
        summary.workers = workers
        # counts from before this phase (--dedupe copies) plus what the sampler published settle the totals
        before = (summary.scored, summary.failed, summary.rows_written)
        inflight = {_work(slot, sampler, job): slot for slot in pool.slots}
        idle: set[int] = set()
        last_poll = time.monotonic()
        while True:
            if inflight:
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=1.0)
            else:
                ready = []
                time.sleep(0.2)
            for ref in ready:
                slot = inflight.pop(ref)
                try:
                    report: WorkReport = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    _scorer_lost(job, batch, slot, exc, sampler, writer, pool, summary, progress, run_id)
                    if slot.retired is None:
                        inflight[_work(slot, sampler, job)] = slot
                    continue
                pool.worked(slot)
                summary.scorers_working = pool.working
                _take_report(report, slot, writer, summary, progress)
                if report.retire is not None:
                    pool.retire(slot, report.retire)
                    ray.get(sampler.requeue_worker.remote(slot.name))
                elif report.done:
                    idle.add(slot.number)
                else:
                    inflight[_work(slot, sampler, job)] = slot
                if on_progress is not None:
                    on_progress(summary)
            if time.monotonic() - last_poll >= CLUSTER_POLL_SECONDS:
                last_poll = time.monotonic()
                for slot in pool.grow():
                    summary.joined += 1
                    summary.workers += 1
                    inflight[_work(slot, sampler, job)] = slot
            pool.check_alive()
            if ready and len(idle) < len(pool.usable()):
                continue
            # A quiet second, or every scorer idle: publish what the driver holds, then finished once
            # nothing is pending or leased (a scorer that cannot be placed, e.g. after losing a node,
            # must not hang the run); otherwise wake idle scorers if a requeue brought work back.
            if len(idle) >= len(pool.usable()) or not ready:
                writer.flush()
            stats = ray.get(sampler.stats.remote())
            if stats["pending"] == 0 and stats["leased"] == 0:
                break
            if stats["pending"] and len(idle) >= len(pool.usable()):
                # every working scorer declined what is left: architectures that hit a device error on
                # every one of them are at fault themselves, and become error rows
                _abandon_stuck(job, batch, sampler, pool, writer, summary, progress, run_id)
            if stats["pending"] and idle:
                for slot in pool.usable():
                    if slot.number in idle:
                        inflight[_work(slot, sampler, job)] = slot
                idle.clear()
        writer.flush()
        summary.rows_written += writer.take_written()
        _settle_totals(summary, ray.get(sampler.stats.remote()), before)
        summary.retired = [s.retired for s in pool.retired() if s.retired]
        summary.start_failures = pool.start_problems()
    finally:
        progress.close()
        if pool is not None:
            pool.kill_all()
        if sampler is not None:
            _kill_quietly(sampler)
        if probe:
            _remove_quietly(probe)


def _settle_totals(summary: RunSummary, stats: dict, before: tuple[int, int, int]) -> None:
    """Replace the running counts (from reports, which a scorer killed after publishing never sends) with the
    sampler's totals of what was published, plus what the driver wrote outside any lease."""
    scored_before, failed_before, rows_before = before
    outside_failed = summary.failed_outside_leases
    summary.scored = scored_before + stats["published_archs"] - stats["published_failed"]
    summary.failed = failed_before + stats["published_failed"] + outside_failed
    summary.rows_written = rows_before + stats["published_rows"] + summary.rows_outside_leases


def _work(slot: Slot, sampler, job: ScoreJob):
    return slot.actor.work.remote(sampler, job.work_seconds)


def _take_report(report: WorkReport, slot: Slot, writer: DriverWriter, summary: RunSummary, progress: Progress) -> None:
    """Counts from a scorer's report; rows of a driver-writes scorer go to the driver's writer."""
    if report.rows is not None:
        writer.add(report.rows, worker=slot.name, lease_ids=report.lease_ids)
        archs, failed = count_archs(report.rows)
        summary.scored += archs - failed
        summary.failed += failed
    summary.scored += report.committed_archs - report.committed_failed
    summary.failed += report.committed_failed
    summary.rows_written += report.committed_rows + writer.take_written()
    progress.update(report.scored, failed=summary.failed)


def _scorer_lost(job: ScoreJob, batch: Batch, slot: Slot, exc: BaseException, sampler, writer: DriverWriter,
                 pool: ScorerPool, summary: RunSummary, progress: Progress, run_id: str) -> None:
    """A scorer (or its node) died: publish what the driver holds for it, requeue the rest, replace it."""
    writer.flush()  # rows this scorer handed over are committed before its leases are taken back
    abandoned = ray.get(sampler.requeue_worker.remote(slot.name))
    if slot.worked:
        summary.requeued += 1
        log.warning("%s lost (%s); its chunks were requeued", slot.name, type(exc).__name__)
    if abandoned:
        _write_abandoned(job, batch, abandoned, run_id, writer, summary, progress)
    pool.died(slot, exc)


def _abandon_stuck(job: ScoreJob, batch: Batch, sampler, pool: ScorerPool, writer: DriverWriter,
                   summary: RunSummary, progress: Progress, run_id: str) -> None:
    workers = [slot.name for slot in pool.usable()]
    stuck = ray.get(sampler.abandon_stuck.remote(workers))
    if stuck:
        _write_abandoned(job, batch, stuck, run_id, writer, summary, progress, message=(
            f"device errors on every working scorer ({len(workers)}) while scoring this architecture alone"))


def _write_abandoned(job: ScoreJob, batch: Batch, indices: list[int], run_id: str, writer: DriverWriter,
                     summary: RunSummary, progress: Progress, message: str | None = None) -> None:
    """Error rows for architectures no scorer could score, written and counted by the driver."""
    rows = _abandoned_rows(job, batch, indices, run_id, message)
    writer.add(rows)
    writer.flush()
    summary.failed += len(indices)
    summary.failed_outside_leases += len(indices)
    summary.rows_outside_leases += len(rows)
    progress.update(len(indices), failed=summary.failed)


def _here():
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)


def _kill_quietly(actor) -> None:
    try:
        ray.kill(actor, no_restart=True)
    except Exception:
        pass


def _store_probe(store: Store, run_id: str) -> str | None:
    """A file only processes that see the driver's local store can see (None for object stores: all can)."""
    if not store.is_local:
        return None
    os.makedirs(store.base, exist_ok=True)
    path = os.path.join(store.base, f".probe-{run_id}")
    with open(path, "w") as fh:
        fh.write(socket.gethostname())
    return path


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# -- rows the driver writes -------------------------------------------------------------------

def _abandoned_rows(job: ScoreJob, batch: Batch, indices: list[int], run_id: str, message: str | None = None
                    ) -> list[dict]:
    """Error rows for architectures that killed their scorer every time they were tried alone."""
    space = job.resolved_space()
    message = message or f"scorer process died while scoring this architecture alone ({job.max_attempts} times)"
    device = str(job.device)
    return [score_row(job, space, batch, index=index, arch=space.arch(index), request=request,
                      value=None, error=message, seconds=0.0, worker="", run_id=run_id, device="",
                      device_class=device_class(device), memory_format=job.memory_format(device))
            for index in indices for request in job.metric_requests()]


def _copy_from_store(store: Store, job: ScoreJob, batch: Batch, sources: dict[int, int], run_id: str) -> list[dict]:
    """Rows for members whose class already has a stored member with every row ok (``--dedupe`` resume)."""
    space = job.resolved_space()
    wanted: dict[str, list[int]] = {}
    for member, source in sources.items():
        for key in expected_keys(job, batch, source):
            wanted.setdefault(key, []).append(member)
    stored = store.read_keys(wanted, ok_only=True, space=space.name).to_pylist()
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


__all__ = ["RunSummary", "resolve_device", "run_score_all"]
