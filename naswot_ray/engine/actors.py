"""The Ray actors: the scorers that pull chunks from the sampler (:mod:`.sampler_actor`).

Scorers are pull-based: each ``score_next`` call leases a chunk from the sampler, scores it, and
returns the rows to the driver, which writes them. The batch arrives once per actor as an object
reference resolved by Ray, never as a DataLoader per architecture.
"""

from __future__ import annotations

import os
import time

import ray

from naswot_ray.data.base import Batch
from naswot_ray.engine.job import ScoreJob
from naswot_ray.engine.sampler_actor import SamplerActor
from naswot_ray.engine.telemetry import ScorerTelemetry


@ray.remote
class ScorerActor:
    """Holds the batch and the built metric set; scores the chunks it pulls."""

    def __init__(self, job: ScoreJob, batch: Batch, worker: str, run_id: str, threads: int) -> None:
        import torch

        from naswot_ray.engine.worker import ArchScorer

        torch.set_num_threads(max(1, threads))
        self.worker = worker
        self.scorer = ArchScorer(job, batch, worker=worker, run_id=run_id)
        self.telemetry = ScorerTelemetry()

    def score_next(self, sampler: "ray.actor.ActorHandle", completed: int | None = None
                   ) -> tuple[int, list[dict], dict] | None:
        """Report ``completed`` (the lease whose rows the driver now holds), lease a chunk, score it."""
        leased = ray.get(sampler.lease.remote(self.worker, completed))
        if leased is None:
            return None
        lease_id, indices = leased
        started = time.perf_counter()
        rows = self.scorer.score_indices(indices)
        self.telemetry.record(rows)
        info = {"worker": self.worker, "pid": os.getpid(), "seconds": time.perf_counter() - started,
                "archs": len(indices)}
        return lease_id, rows, info

    def score_indices(self, indices: list[int]) -> list[dict]:
        """Score exactly ``indices`` without a lease: live scoring for searches (engine/search_runner.py)."""
        rows = self.scorer.score_indices([int(i) for i in indices])
        self.telemetry.record(rows)
        return rows

    def where(self) -> dict:
        return {"worker": self.worker, "pid": os.getpid(), "node": ray.get_runtime_context().get_node_id(),
                "device": str(self.scorer.device)}


__all__ = ["SamplerActor", "ScorerActor"]
