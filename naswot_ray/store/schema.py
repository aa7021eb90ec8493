"""Arrow schemas of the store's tables and the identity key of a score.

One score row per (space, space options, arch_index, metric, mode, BN mode, head size, batch, seed).
The ``key`` column is a digest of exactly those fields, so resume, dedupe and "each key exactly
once" checks are set operations on one column.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa

SCORES_SCHEMA = pa.schema([
    ("key", pa.string()),
    ("space", pa.string()),
    ("space_options", pa.string()),
    ("arch_index", pa.int64()),
    ("arch", pa.string()),
    ("metric", pa.string()),
    ("value", pa.float64()),
    ("value_scale", pa.string()),      # "raw", or "log" (natural log of an overflowing score)
    ("status", pa.string()),           # "ok" or "error"
    ("error", pa.string()),
    ("dataset", pa.string()),
    ("batch_size", pa.int32()),
    ("batch_sha256", pa.string()),     # "none" for metrics that read no data
    ("seed", pa.int64()),              # run seed
    ("arch_seed", pa.int64()),         # seed derived from (run seed, arch_index) used for init
    ("mode", pa.string()),
    ("bn_mode", pa.string()),
    ("num_classes", pa.int32()),
    ("device", pa.string()),
    ("memory_format", pa.string()),    # contiguous (NCHW) or channels_last: changes float summation order
    ("seconds", pa.float64()),
    ("worker", pa.string()),
    ("run_id", pa.string()),
    ("package_version", pa.string()),
    ("torch_version", pa.string()),
    ("shared_from", pa.int64()),       # set when the value was copied from an isomorphic cell (--dedupe)
    ("created_at", pa.timestamp("us", tz="UTC")),
])

RUNS_SCHEMA = pa.schema([
    ("run_id", pa.string()),
    ("command", pa.string()),
    ("status", pa.string()),           # running, finished, failed, interrupted
    ("config", pa.string()),           # JSON
    ("versions", pa.string()),         # JSON
    ("host", pa.string()),
    ("requested", pa.int64()),
    ("skipped", pa.int64()),
    ("scored", pa.int64()),
    ("failed", pa.int64()),
    ("wall_seconds", pa.float64()),
    ("started_at", pa.timestamp("us", tz="UTC")),
    ("created_at", pa.timestamp("us", tz="UTC")),
])

TABLE_SCHEMAS: dict[str, pa.Schema] = {"scores": SCORES_SCHEMA, "runs": RUNS_SCHEMA}

#: how readers pick one row per identity when a table holds several (latest wins; scores prefer ok)
TABLE_IDENTITY: dict[str, tuple[str, str]] = {
    "scores": ("key", "(status = 'ok') DESC, created_at DESC"),
    "runs": ("run_id", "created_at DESC"),
}


def score_key(*, space: str, space_options: str, arch_index: int, metric: str, mode: str, bn_mode: str,
              num_classes: int, batch_sha256: str, seed: int) -> str:
    """Stable identity of one score; equal inputs give equal keys on every machine."""
    text = "|".join(str(p) for p in (space, space_options, arch_index, metric, mode, bn_mode, num_classes,
                                      batch_sha256, seed))
    return hashlib.sha1(text.encode()).hexdigest()
