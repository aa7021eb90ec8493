"""The sampler actor: owns the queue of architecture indices still to score and leases chunks.

Its own module, importing neither torch nor the spaces, so the sampler's worker process starts in a
second instead of paying for a torch import it never uses.
"""

from __future__ import annotations

import ray

from naswot_ray.engine.leases import LeaseQueue
from naswot_ray.engine.telemetry import QueueTelemetry


@ray.remote(num_cpus=0, max_restarts=0)
class SamplerActor:
    """Owns the queue of architecture indices still to score; leases chunks to scorers."""

    def __init__(self, indices: list[int], chunk_size: int, max_attempts: int = 2, run_id: str = "") -> None:
        self.queue = LeaseQueue(indices, chunk_size, max_attempts=max_attempts)
        self.telemetry = QueueTelemetry(run_id)
        self.telemetry.set_depth(self.queue.stats()["pending"])

    def lease(self, worker: str, completed: int | None = None) -> tuple[int, list[int]] | None:
        leased = self.queue.lease(worker, completed)
        self.telemetry.set_depth(self.queue.stats()["pending"])
        return leased

    def complete(self, lease_id: int) -> bool:
        return self.queue.complete(lease_id)

    def requeue_worker(self, worker: str) -> list[int]:
        abandoned = self.queue.requeue_worker(worker)
        self.telemetry.set_depth(self.queue.stats()["pending"])
        return abandoned

    def stats(self) -> dict[str, int]:
        return self.queue.stats()

    def done(self) -> bool:
        return self.queue.done()
