"""The work queue behind the sampler actor: pending indices, leased chunks, commits.

Pure Python so its rules are unit-tested without Ray:
- a chunk is leased to one worker at a time; a worker may hold several leases at once: the chunk it
  is scoring now and chunks it has scored but whose rows are not yet durable (a scorer writes a part
  file every few thousand rows, not after every chunk);
- a lease ends only when its rows are durable (:meth:`commit`); until then it belongs to its worker,
  and when that worker dies (:meth:`requeue_worker`) every lease it held goes back to the queue, so no
  row can be lost between scoring and writing;
- asking for a new chunk says the previous one was scored: only the chunk a worker was scoring when it
  died is suspected of killing it. Suspects are retried one index at a time, and an index that has now
  killed ``max_attempts`` workers on its own is abandoned (the driver records an error row for it), so
  one poisonous architecture cannot take a whole run down in a crash loop;
- an index that hit a device error goes to another scorer, never back to one that failed it
  (:meth:`requeue_index`): a broken GPU must not turn architectures into error rows. Only when every
  scorer still working has failed it is it the architecture's fault (:meth:`abandon_stuck`);
- a commit for a lease its worker no longer holds (it was declared dead and its work requeued) is
  refused, so the rows of a requeued chunk are made visible once, by whoever scores it again.
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
    scored: bool = False


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
        #: leases taken back from dead workers: a late commit of any of them is refused
        self.revoked: set[int] = set()
        self.workers: set[str] = set()
        #: index -> scorers that hit a device error on it (they are not given it again)
        self.failed_on: dict[int, set[str]] = {}
        self.completed = 0
        self.requeued = 0
        #: what committed parts published: architectures, of them with an error row, rows
        self.published = {"archs": 0, "failed": 0, "rows": 0}
        self._ids = itertools.count(1)

    # -- leasing ------------------------------------------------------------------------------
    def lease(self, worker: str, want: int | None = None) -> tuple[int, list[int]] | None:
        """Next chunk for ``worker`` (None when nothing is pending); its earlier leases count as scored.

        ``want`` asks for a chunk of another size (a scorer sizes its chunks to a fraction of a second of
        work, so cheap metrics do not pay a round trip per few architectures). It is granted up to half
        of a fair share of what is pending, so the end of a run is not left to one scorer.
        """
        for lease in self.leases.values():
            if lease.worker == worker:
                lease.scored = True
        self.workers.add(worker)
        size = self.chunk_size
        if want is not None:
            fair = len(self.pending) // (2 * len(self.workers))
            size = max(1, min(int(want), max(self.chunk_size, fair)))
        suspect = self._suspect_for(worker)
        if suspect is not None:
            chunk = [suspect]
        elif self.pending:
            chunk = [self.pending.popleft() for _ in range(min(size, len(self.pending)))]
        else:
            return None
        lease = Lease(next(self._ids), worker, chunk, time.monotonic())
        self.leases[lease.lease_id] = lease
        return lease.lease_id, list(chunk)

    def _suspect_for(self, worker: str) -> int | None:
        """The first suspect ``worker`` has not failed with a device error (removed from the queue)."""
        for position, index in enumerate(self.suspects):
            if worker not in self.failed_on.get(index, ()):
                del self.suspects[position]
                return index
        return None

    def held_by(self, worker: str, lease_ids: list[int]) -> bool:
        """Whether ``worker`` may still commit ``lease_ids``: none was taken back from it or given to another.

        A lease that emptied because its every index was handed back (:meth:`requeue_index`,
        :meth:`release`) is simply gone and does not stop a commit.
        """
        return not any(i in self.revoked or (i in self.leases and self.leases[i].worker != worker) for i in lease_ids)

    def commit(self, worker: str, lease_ids: list[int], *, archs: int = 0, failed: int = 0, rows: int = 0) -> bool:
        """End ``lease_ids`` (their rows are durable). Refused (False) when :meth:`held_by` says no.

        ``archs``/``failed``/``rows`` describe the published rows; they are added to the run's totals in
        the same step, so the totals count exactly what became visible.
        """
        if not self.held_by(worker, lease_ids):
            return False
        for lease_id in lease_ids:
            lease = self.leases.pop(lease_id, None)
            if lease is not None:
                self.completed += len(lease.indices)
        self.published["archs"] += archs
        self.published["failed"] += failed
        self.published["rows"] += rows
        return True

    # -- failures -----------------------------------------------------------------------------
    def requeue_worker(self, worker: str) -> list[int]:
        """Requeue every lease of a dead worker; returns the indices now abandoned.

        Scored-but-unwritten chunks go back to the front of the queue as they were; the chunk being
        scored at death is split into suspects, and a suspect that dies alone gains an attempt.
        """
        mine = sorted((lease for lease in self.leases.values() if lease.worker == worker), key=lambda l: l.lease_id)
        abandoned: list[int] = []
        innocent: list[int] = []
        for lease in mine:
            del self.leases[lease.lease_id]
            self.revoked.add(lease.lease_id)
            if lease.scored:
                innocent += lease.indices
                continue
            for index in lease.indices:
                if len(lease.indices) == 1:
                    self.attempts[index] = self.attempts.get(index, 0) + 1
                if self.attempts.get(index, 0) >= self.max_attempts:
                    abandoned.append(index)
                else:
                    self.suspects.append(index)
        self.pending.extendleft(reversed(innocent))
        self.requeued += len(innocent) + sum(len(lease.indices) for lease in mine if not lease.scored) - len(abandoned)
        self.abandoned.extend(abandoned)
        return abandoned

    def requeue_index(self, worker: str, lease_id: int, index: int) -> None:
        """Take ``index`` out of ``worker``'s lease (a device error there); another scorer retries it alone."""
        lease = self.leases.get(lease_id)
        if lease is None or lease.worker != worker or index not in lease.indices:
            return
        lease.indices.remove(index)
        if not lease.indices:
            del self.leases[lease_id]
        self.failed_on.setdefault(index, set()).add(worker)
        self.suspects.append(index)
        self.requeued += 1

    def abandon_stuck(self, workers: list[str]) -> list[int]:
        """Abandon the suspects that every one of ``workers`` (the scorers still working) has failed with a
        device error: then the architecture, not a device, is at fault. Returns them."""
        stuck = [i for i in self.suspects if workers and set(workers) <= self.failed_on.get(i, set())]
        for index in stuck:
            self.suspects.remove(index)
        self.abandoned.extend(stuck)
        return stuck

    def release(self, worker: str, lease_id: int, indices: list[int]) -> None:
        """Give ``indices`` of a lease back unscored (their scorer is retiring): no attempt is counted."""
        lease = self.leases.get(lease_id)
        if lease is None or lease.worker != worker:
            return
        back = [i for i in lease.indices if i in set(indices)]
        lease.indices = [i for i in lease.indices if i not in set(back)]
        if not lease.indices:
            del self.leases[lease_id]
        self.pending.extendleft(reversed(back))

    # -- state ----------------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        return {
            "pending": len(self.pending) + len(self.suspects),
            "leased": sum(len(lease.indices) for lease in self.leases.values()),
            "completed": self.completed,
            "requeued": self.requeued,
            "abandoned": len(self.abandoned),
            **{f"published_{k}": v for k, v in self.published.items()},
        }

    def done(self) -> bool:
        return not self.pending and not self.suspects and not self.leases
