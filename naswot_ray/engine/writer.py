"""Rows the driver writes itself: copies for --dedupe, error rows for abandoned architectures, and
every row of scorers that cannot see the store (driver-writes mode).

Scorers that can see the store publish their own rows (:mod:`.actors`); this is the path for the
rest. Rows of leased chunks are written before their leases are committed, so a row is never
counted done before it is durable.
"""

from __future__ import annotations

import time

import ray

from naswot_ray.engine.actors import count_archs
from naswot_ray.store import Store


class DriverWriter:
    """Buffers rows (and the leases they finish) and writes them as part files."""

    def __init__(self, store: Store, run_id: str, sampler, flush_rows: int, flush_seconds: float) -> None:
        self.store, self.run_id, self.sampler = store, run_id, sampler
        self.flush_rows, self.flush_seconds = flush_rows, flush_seconds
        self.buffer: list[dict] = []
        self.leases: dict[str, list[int]] = {}
        #: rows per worker whose leases this writer commits (their counts go to the sampler's totals)
        self.rows_of: dict[str, list[dict]] = {}
        self.last_flush = time.monotonic()
        self.written = 0
        self._reported = 0

    def add(self, rows: list[dict], *, worker: str | None = None, lease_ids: list[int] | None = None) -> None:
        self.buffer.extend(rows)
        if worker is not None and lease_ids:
            self.leases.setdefault(worker, []).extend(lease_ids)
            self.rows_of.setdefault(worker, []).extend(rows)
        if len(self.buffer) >= self.flush_rows or time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Write the buffer as one part, then commit the leases it finishes."""
        if self.buffer:
            self.store.write("scores", self.buffer, tag=self.run_id[-8:])
            self.written += len(self.buffer)
            self.buffer = []
        if self.leases and self.sampler is not None:
            commits = []
            for worker, ids in self.leases.items():
                rows = self.rows_of.get(worker, [])
                archs, failed = count_archs(rows)
                commits.append(self.sampler.commit.remote(worker, ids, None, archs=archs, failed=failed, rows=len(rows)))
            ray.get(commits)
        self.leases, self.rows_of = {}, {}
        self.last_flush = time.monotonic()

    def take_written(self) -> int:
        """Rows written since the last call (for running totals)."""
        fresh, self._reported = self.written - self._reported, self.written
        return fresh


__all__ = ["DriverWriter"]
