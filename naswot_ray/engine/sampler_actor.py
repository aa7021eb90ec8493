"""The sampler actor: owns the queue of architecture indices still to score, and publishes finished work.

It is the single authority over what counts as done: a scorer writes its rows as a *staged* part
file (invisible to readers), then asks the sampler to commit its leases; the sampler publishes the
part (a rename) and ends the leases in one step, or refuses and deletes the part when those leases
were already given to another scorer because the first was declared dead. One actor, one thread:
the rows of a chunk become visible exactly once even when scorers die at any moment.

Its own module, importing neither torch nor the spaces, so the sampler's worker process starts in a
second instead of paying for a torch import it never uses.
"""

from __future__ import annotations

import ray

from naswot_ray.engine.leases import LeaseQueue
from naswot_ray.engine.telemetry import QueueTelemetry


@ray.remote(num_cpus=0, max_restarts=0)
class SamplerActor:
    """Owns the queue of architecture indices still to score; leases chunks to scorers; commits parts."""

    def __init__(self, indices: list[int], chunk_size: int, max_attempts: int = 2, run_id: str = "",
                 store_root: str | None = None) -> None:
        self.queue = LeaseQueue(indices, chunk_size, max_attempts=max_attempts)
        self.telemetry = QueueTelemetry(run_id)
        self.telemetry.set_depth(self.queue.stats()["pending"])
        self.store_root = store_root
        self._store = None

    @property
    def store(self):
        if self._store is None:
            from naswot_ray.store import Store

            self._store = Store(self.store_root or "")
        return self._store

    def lease(self, worker: str, want: int | None = None) -> tuple[int, list[int]] | None:
        leased = self.queue.lease(worker, want)
        self.telemetry.set_depth(self.queue.stats()["pending"])
        return leased

    def commit(self, worker: str, lease_ids: list[int], staged: str | None = None, *, archs: int = 0, failed: int = 0,
               rows: int = 0) -> bool:
        """End ``lease_ids`` of ``worker``, publishing the staged part that holds their rows (if any) and
        counting what it holds. Returns False (and deletes the staged part) when the worker no longer
        holds those leases."""
        if not self.queue.held_by(worker, lease_ids):
            if staged:
                self.store.discard_staged(staged)
            return False
        if staged:
            self.store.commit_staged(staged)
        return self.queue.commit(worker, lease_ids, archs=archs, failed=failed, rows=rows)

    def requeue_worker(self, worker: str) -> list[int]:
        abandoned = self.queue.requeue_worker(worker)
        self.telemetry.set_depth(self.queue.stats()["pending"])
        return abandoned

    def requeue_index(self, worker: str, lease_id: int, index: int) -> None:
        self.queue.requeue_index(worker, lease_id, index)
        self.telemetry.set_depth(self.queue.stats()["pending"])

    def abandon_stuck(self, workers: list[str]) -> list[int]:
        stuck = self.queue.abandon_stuck(workers)
        self.telemetry.set_depth(self.queue.stats()["pending"])
        return stuck

    def release(self, worker: str, lease_id: int, indices: list[int]) -> None:
        self.queue.release(worker, lease_id, indices)
        self.telemetry.set_depth(self.queue.stats()["pending"])

    def stats(self) -> dict[str, int]:
        return self.queue.stats()

    def done(self) -> bool:
        return self.queue.done()
