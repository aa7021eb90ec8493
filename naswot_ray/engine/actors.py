"""The scorer actors: pull chunks from the sampler (:mod:`.sampler_actor`), score them, publish the rows.

A scorer works in calls of a few seconds (:meth:`ScorerActor.work`): it leases chunk after chunk,
scores each, and buffers the rows; every ``flush_rows`` rows or ``flush_seconds`` it writes them as
one staged part file and asks the sampler to commit the leases they belong to, which publishes the
part. The driver only reads a small report per call, so one driver keeps hundreds of scorers busy
(``benchmarks/control_plane.py``). A scorer on a node that cannot see the store (a local path on
another machine) hands its rows to the driver instead, one chunk per call, and the driver writes them.

The batch arrives once per actor as an object reference resolved by Ray, never as a DataLoader per
architecture.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import ray

from naswot_ray.data.base import Batch
from naswot_ray.engine.job import ScoreJob
from naswot_ray.engine.sampler_actor import SamplerActor
from naswot_ray.engine.telemetry import ScorerTelemetry


#: a scorer asks for chunks of about this many seconds of work, and never more than CHUNK_CAP architectures
CHUNK_SECONDS = 0.25
CHUNK_CAP = 2048


@dataclass
class WorkReport:
    """What one :meth:`ScorerActor.work` call did (all counts are of this call only)."""

    worker: str
    #: the sampler had nothing left to lease, and everything this scorer held is committed
    done: bool = False
    #: architectures scored in this call (progress; not yet durable)
    scored: int = 0
    #: committed in this call: architectures (incl. shared --dedupe members), of them with an error row, rows
    committed_archs: int = 0
    committed_failed: int = 0
    committed_rows: int = 0
    #: commits the sampler refused (the leases had been given to another scorer)
    refused: int = 0
    #: driver-writes mode: the rows of ``lease_ids`` for the driver to write and commit
    rows: list[dict] | None = None
    lease_ids: list[int] = field(default_factory=list)
    #: device errors in this call; ``retire`` is set when the scorer gave up on its device
    device_errors: int = 0
    retire: str | None = None


def store_visible(store_root: str, probe: str | None) -> bool:
    """Whether this process sees the store: always for URIs, else the driver's probe file must exist here."""
    if "://" in store_root and not store_root.startswith("file://"):
        return True
    return probe is not None and os.path.exists(probe)


@ray.remote
class ScorerActor:
    """Holds the batch and the built metric set; scores the chunks it pulls and publishes their rows."""

    def __init__(self, job: ScoreJob, batch: Batch, worker: str, run_id: str, threads: int,
                 followers: dict[int, list[int]] | None = None, store_probe: str | None = None) -> None:
        from naswot_ray import plugins

        plugins.load(job.plugins)
        import torch

        from naswot_ray.engine.worker import ArchScorer

        torch.set_num_threads(max(1, threads))
        self.job = job
        self.worker = worker
        self.run_id = run_id
        self.scorer = ArchScorer(job, batch, worker=worker, run_id=run_id)
        self.telemetry = ScorerTelemetry()
        self.followers = followers or {}
        self.writes_itself = store_visible(job.store, store_probe)
        self._store = None
        self.buffer: list[dict] = []
        self.held: list[int] = []
        self.last_flush = time.monotonic()
        self.device_errors_in_a_row = 0
        #: seconds per architecture (running mean) sizes the chunks asked for, unless --chunk-size fixed them
        self.seconds_per_arch: float | None = None

    @property
    def store(self):
        if self._store is None:
            from naswot_ray.store import Store

            self._store = Store(self.job.store)
        return self._store

    def ready(self) -> dict:
        """Returns once the scorer is constructed (the driver's proof that this slot can work)."""
        return self.where()

    def work(self, sampler: "ray.actor.ActorHandle", budget_seconds: float = 2.0) -> WorkReport:
        """Lease, score and publish chunks for about ``budget_seconds``; report what happened."""
        report = WorkReport(worker=self.worker)
        started = time.monotonic()
        while True:
            leased = ray.get(sampler.lease.remote(self.worker, self._wanted_chunk()))
            if leased is None:
                if self.writes_itself:
                    self._flush(sampler, report)
                report.done = True
                return report
            lease_id, indices = leased
            chunk_started = time.monotonic()
            rows = self._score_chunk(sampler, lease_id, indices, report)
            self._observe(time.monotonic() - chunk_started, len(indices))
            if report.retire is not None:
                if self.writes_itself:
                    self.buffer.extend(rows)
                    self.held.append(lease_id)
                    self._flush(sampler, report)
                else:
                    report.rows, report.lease_ids = rows, [lease_id]
                return report
            if not self.writes_itself:
                report.rows, report.lease_ids = rows, [lease_id]
                return report
            self.buffer.extend(rows)
            self.held.append(lease_id)
            if len(self.buffer) >= self.job.flush_rows or time.monotonic() - self.last_flush >= self.job.flush_seconds:
                self._flush(sampler, report)
            if time.monotonic() - started >= budget_seconds:
                return report

    def _wanted_chunk(self) -> int | None:
        """Enough architectures for about a quarter second of work (None: the sampler's chunk size)."""
        if self.job.chunk_size is not None or self.seconds_per_arch is None:
            return None
        return max(1, min(CHUNK_CAP, int(CHUNK_SECONDS / max(self.seconds_per_arch, 1e-6))))

    def _observe(self, seconds: float, archs: int) -> None:
        if archs:
            per = seconds / archs
            self.seconds_per_arch = per if self.seconds_per_arch is None else 0.7 * self.seconds_per_arch + 0.3 * per

    def _score_chunk(self, sampler, lease_id: int, indices: list[int], report: WorkReport) -> list[dict]:
        from naswot_ray.engine.dedupe import share_rows
        from naswot_ray.engine.worker import DeviceFailure

        rows: list[dict] = []
        for position, index in enumerate(indices):
            try:
                mine = self.scorer.score_index(index)
            except DeviceFailure as failure:
                report.device_errors += 1
                self.device_errors_in_a_row += 1
                ray.get(sampler.requeue_index.remote(self.worker, lease_id, index))
                if self.device_errors_in_a_row >= self.job.max_device_errors:
                    report.retire = (f"{self.worker} retired after {self.device_errors_in_a_row} device errors in a "
                                     f"row; last: {failure}")
                    ray.get(sampler.release.remote(self.worker, lease_id, indices[position + 1:]))
                    return rows
                continue
            self.device_errors_in_a_row = 0
            report.scored += 1
            rows.extend(mine)
            members = self.followers.get(index)
            if members:
                rows.extend(share_rows(mine, members, self.scorer.space, run_id=self.run_id))
        self.telemetry.record([r for r in rows if r.get("shared_from") is None])
        return rows

    def _flush(self, sampler, report: WorkReport) -> None:
        """Write the buffered rows as one staged part and have the sampler commit (publish) it."""
        if self.held:
            staged = self.store.write("scores", self.buffer, tag=self.run_id[-8:], staged=True) if self.buffer else None
            archs, failed = count_archs(self.buffer)
            if ray.get(sampler.commit.remote(self.worker, self.held, staged, archs=archs, failed=failed,
                                             rows=len(self.buffer))):
                report.committed_archs += archs
                report.committed_failed += failed
                report.committed_rows += len(self.buffer)
            else:
                report.refused += 1
        self.buffer, self.held = [], []
        self.last_flush = time.monotonic()

    def score_indices(self, indices: list[int]) -> list[dict]:
        """Score exactly ``indices`` without a lease: live scoring for searches (engine/search_runner.py)."""
        rows = self.scorer.score_indices([int(i) for i in indices])
        self.telemetry.record(rows)
        return rows

    def where(self) -> dict:
        return {"worker": self.worker, "pid": os.getpid(), "node": ray.get_runtime_context().get_node_id(),
                "device": str(self.scorer.device), "writes_itself": self.writes_itself}


def count_archs(rows: list[dict]) -> tuple[int, int]:
    """(architectures, architectures with at least one error row) among ``rows``."""
    status: dict[int, bool] = {}
    for row in rows:
        index = int(row["arch_index"])
        status[index] = status.get(index, True) and row["status"] == "ok"
    return len(status), sum(1 for ok in status.values() if not ok)


__all__ = ["SamplerActor", "ScorerActor", "WorkReport", "count_archs", "store_visible"]
