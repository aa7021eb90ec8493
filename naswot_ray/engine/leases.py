"""The work queue behind the sampler actor: pending indices, leased chunks, completion.

Pure Python so its rules are unit-tested without Ray:
- a chunk is leased to one worker at a time and returns to the front of the queue when that worker
  dies (``requeue_worker``);
- a worker that asks for work while it still holds a lease gets *the same lease back*: that only
  happens when its previous call was retried after the actor restarted (Ray's task retries), and
  handing out new work then would strand the old chunk;
- a chunk whose worker died is retried one index at a time, and an index that has now killed
  ``max_attempts`` workers on its own is abandoned (the driver records an error row for it), so one
  poisonous architecture cannot take a whole run down in a crash loop;
- completing a lease twice, or a lease that was requeued, is harmless.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass


@dataclass
class Lease:
    lease_id: int
    worker: str
    indices: list[int]
    leased_at: float


class LeaseQueue:
    def __init__(self, indices: list[int], chunk_size: int, max_attempts: int = 2) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        self.chunk_size = chunk_size
        self.max_attempts = max_attempts
        self.pending: deque[int] = deque(indices)
        self.suspects: deque[int] = deque()
        self.attempts: dict[int, int] = {}
        self.abandoned: list[int] = []
        self.leases: dict[int, Lease] = {}
        self.by_worker: dict[str, int] = {}
        self.completed = 0
        self.requeued = 0
        self._ids = itertools.count(1)

    def lease(self, worker: str, completed: int | None = None) -> tuple[int, list[int]] | None:
        """Next chunk for ``worker``, after marking its previous lease ``completed`` (if given).

        Completion travels with the next request so it can never be overtaken by it (Ray orders calls
        per caller, and the driver and the scorer are different callers).
        """
        if completed is not None:
            self.complete(completed)
        held = self.by_worker.get(worker)
        if held is not None and held in self.leases:
            lease = self.leases[held]
            return lease.lease_id, list(lease.indices)
        if self.suspects:
            chunk = [self.suspects.popleft()]
        elif self.pending:
            chunk = [self.pending.popleft() for _ in range(min(self.chunk_size, len(self.pending)))]
        else:
            return None
        lease = Lease(next(self._ids), worker, chunk, time.monotonic())
        self.leases[lease.lease_id] = lease
        self.by_worker[worker] = lease.lease_id
        return lease.lease_id, list(chunk)

    def complete(self, lease_id: int) -> bool:
        lease = self.leases.pop(lease_id, None)
        if lease is None:
            return False
        if self.by_worker.get(lease.worker) == lease_id:
            del self.by_worker[lease.worker]
        self.completed += len(lease.indices)
        return True

    def requeue_worker(self, worker: str) -> list[int]:
        """Requeue a dead worker's chunk, index by index; returns the indices now abandoned."""
        lease_id = self.by_worker.pop(worker, None)
        lease = self.leases.pop(lease_id, None) if lease_id is not None else None
        if lease is None:
            return []
        abandoned = []
        for index in lease.indices:
            if len(lease.indices) == 1:
                self.attempts[index] = self.attempts.get(index, 0) + 1
            if self.attempts.get(index, 0) >= self.max_attempts:
                abandoned.append(index)
            else:
                self.suspects.append(index)
                self.requeued += 1
        self.abandoned.extend(abandoned)
        return abandoned

    def stats(self) -> dict[str, int]:
        return {
            "pending": len(self.pending) + len(self.suspects),
            "leased": sum(len(lease.indices) for lease in self.leases.values()),
            "completed": self.completed,
            "requeued": self.requeued,
            "abandoned": len(self.abandoned),
        }

    def done(self) -> bool:
        return not self.pending and not self.suspects and not self.leases
