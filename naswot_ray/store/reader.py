"""Reading part files: only the columns and rows asked for, retrying what may be transient.

Why projected, filtered reads: a resume only needs the keys of one space and its metrics, and a
store kept for years holds millions of rows of many spaces; reading every column of every part
made the resume read grow with the whole store (``benchmarks/resume_read.py``). A scan reads the
requested columns only and lets the Parquet reader drop rows (and, on compacted parts sorted by space
and metric, whole row groups) that fail the filter.

Why three kinds of failure: a part that cannot be read *now* is not necessarily corrupt. On a network
filesystem or an object store a read can fail for a moment (a dropped connection, throttling, a
stale NFS handle), and quarantining such a part would rescore every key in it. So:

- **vanished**: the file was listed but is gone (``store compact`` replaced it): list again and read
  what replaced it; not a problem at all;
- **transient**: any other I/O error: retried with backoff; if it persists, the part is left in
  place and reported as unreadable for now (its keys count as missing for this read only);
- **corrupt**: the bytes are not a readable Parquet file of the table (bad footer, undecodable pages,
  a column of the wrong type): retried once (a torn read looks the same), then quarantined.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs

T = TypeVar("T")

#: message fragments of an OSError that mean the bytes themselves are bad (pyarrow reports some
#: decoding failures as OSError, e.g. "Couldn't deserialize thrift")
CORRUPT_MARKERS = ("deserializ", "thrift", "corrupt", "magic bytes", "parquet file size", "page header",
                   "decompress", "unexpected end of stream", "invalid", "checksum", "out of bounds",
                   "not a parquet file")
#: fragments of a service or network error, never a statement about the bytes (an S3 error code such as
#: INVALID_ACCESS_KEY_ID must not read as corruption)
SERVICE_MARKERS = ("aws error", "curl", "http status", "connection", "timed out", "timeout")

VANISHED, TRANSIENT, CORRUPT, OTHER = "vanished", "transient", "corrupt", "other"


def classify(exc: BaseException) -> str:
    """vanished, transient or corrupt (module docstring); ``other`` for failures that are not about a
    part at all (out of memory, a bug), which propagate."""
    if isinstance(exc, FileNotFoundError):
        return VANISHED
    if isinstance(exc, OSError):
        text = str(exc).lower()
        if any(marker in text for marker in SERVICE_MARKERS):
            return TRANSIENT
        return CORRUPT if any(marker in text for marker in CORRUPT_MARKERS) else TRANSIENT
    if isinstance(exc, pa.ArrowException):
        return CORRUPT  # ArrowInvalid, ArrowTypeError, ArrowNotImplementedError: the bytes or the schema
    return OTHER


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a possibly transient failure is retried (delays double)."""

    attempts: int = 4
    first_delay: float = 0.25

    def delays(self) -> list[float]:
        return [self.first_delay * 2 ** i for i in range(max(0, self.attempts - 1))]


@dataclass
class StoreProblem:
    """A part file that could not be read: where, why, and whether it is corrupt or only unreachable now."""

    path: str
    reason: str
    kind: str = CORRUPT


@dataclass
class ReadLog:
    """What reads met: problems (one per path) and how many operations succeeded only after retrying."""

    problems: list[StoreProblem] = field(default_factory=list)
    retried: int = 0

    def add(self, problem: StoreProblem) -> None:
        for i, known in enumerate(self.problems):
            if known.path == problem.path:
                self.problems[i] = problem
                return
        self.problems.append(problem)

    def resolve(self, path: str) -> None:
        """``path`` was read after all: forget an earlier transient problem with it."""
        self.problems[:] = [p for p in self.problems if p.path != path]


def one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def with_retry(operation: Callable[[], T], policy: RetryPolicy, log: ReadLog) -> T:
    """Run ``operation``; retry transient failures per ``policy`` and corrupt-looking ones once.

    A vanished file, or the last failure, propagates to the caller.
    """
    delays = policy.delays()
    attempt = 0
    while True:
        try:
            result = operation()
        except Exception as exc:
            kind = classify(exc)
            allowed = len(delays) if kind == TRANSIENT else (1 if kind == CORRUPT else 0)
            if attempt >= allowed:
                raise
            time.sleep(delays[attempt] if kind == TRANSIENT else 0.0)
            attempt += 1
            continue
        if attempt:
            log.retried += 1
        return result


def scan_paths(fs: pafs.FileSystem, paths: Sequence[str], schema: pa.Schema, columns: Sequence[str],
               filter: pc.Expression | None, policy: RetryPolicy, log: ReadLog) -> tuple[list[pa.Table], list[str]]:
    """Read ``columns`` of the rows of ``paths`` that pass ``filter``. Returns (tables, vanished paths).

    One multi-file scan first (fast: parallel, one plan); if anything fails, part by part, so one bad
    part costs only its own rows and is classified (module docstring).
    """
    if not paths:
        return [], []
    try:
        return [_scan(fs, list(paths), schema, columns, filter)], []
    except Exception:
        pass
    tables: list[pa.Table] = []
    vanished: list[str] = []
    for path in paths:
        try:
            tables.append(with_retry(lambda: _scan(fs, [path], schema, columns, filter), policy, log))
            log.resolve(path)
        except Exception as exc:
            kind = classify(exc)
            if kind == OTHER:
                raise
            if kind == VANISHED:
                vanished.append(path)
            else:
                log.add(StoreProblem(path, one_line(exc), kind))
    return tables, vanished


def read_part(fs: pafs.FileSystem, path: str, schema: pa.Schema, columns: Sequence[str] | None,
              policy: RetryPolicy, log: ReadLog) -> pa.Table:
    """Every row of one part (``columns`` of it, or all), conformed to ``schema``; failures propagate."""
    return with_retry(lambda: _scan(fs, [path], schema, list(columns or schema.names), None), policy, log)


def _scan(fs: pafs.FileSystem, paths: list[str], schema: pa.Schema, columns: Sequence[str],
          filter: pc.Expression | None) -> pa.Table:
    # an explicit schema makes a part without a newer column read it as nulls, and casts older types;
    # from_paths does no I/O up front (no per-file HEAD request on an object store)
    dataset = ds.FileSystemDataset.from_paths(paths, schema=schema, format=ds.ParquetFileFormat(), filesystem=fs)
    return dataset.to_table(columns=list(columns), filter=filter)
