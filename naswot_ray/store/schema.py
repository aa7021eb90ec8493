"""Arrow schemas of the store's tables and the identity of a score.

A score's identity is everything its value depends on (:class:`ScoreIdentity`): the space and its
options, the architecture, the metric with its mode, options and version, the BN mode and head size,
the images and labels it read, the run seed, the device class (CPU and GPU kernels sum in different
orders) and the memory format (channels_last moves NASWOT by up to 5.5e-4). The ``key`` column is a
digest of exactly those fields, so resume, dedupe and "each key exactly once" checks are set
operations on one column.

Rows written before metric versions existed keep their stored keys and read as version 0 of their
metric (``metric_version`` is null there); no stored row is ever rewritten. Because every current
metric is version 1 or later, old and new values never share a key or a variant.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields

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
    ("device_class", pa.string()),     # cpu / cuda / ... ("any" for exact, device-independent metrics)
    ("metric_version", pa.int32()),    # version of the metric's maths; null in rows written before versions = 0
    ("metric_options", pa.string()),   # the metric's non-default options, k=v,k2=v2
    ("labels_sha256", pa.string()),    # labels the value read ('' when it reads none)
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

#: what ``store compact`` dropped from ``scores``: one row per duplicate row removed whose run differs from
#: the kept row's, so ``store verify`` can still check every run against the scores it claims
SUPERSEDED_SCHEMA = pa.schema([
    ("key", pa.string()),
    ("run_id", pa.string()),           # the run whose row was dropped
    ("arch_index", pa.int64()),
    ("space", pa.string()),
    ("metric", pa.string()),
    ("status", pa.string()),           # the dropped row's status
    ("kept_run_id", pa.string()),      # the run whose row readers pick (and compaction kept)
    ("compaction_id", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
])

TABLE_SCHEMAS: dict[str, pa.Schema] = {"scores": SCORES_SCHEMA, "runs": RUNS_SCHEMA, "superseded": SUPERSEDED_SCHEMA}

#: values readers give columns that older part files lack (everything else reads as null): a score row
#: from before metric versions existed is version 0 of its metric
READ_DEFAULTS: dict[str, dict[str, object]] = {"scores": {"metric_version": 0, "metric_options": ""}}

#: how readers pick one row per identity when a table holds several (latest wins; scores prefer ok). The
#: trailing columns only break ties between rows written in the same microsecond, so the pick depends on
#: the rows' content, never on part-file names or order (``store compact`` keeps exactly this row).
TABLE_IDENTITY: dict[str, tuple[str, str]] = {
    "scores": ("key", "(status = 'ok') DESC, created_at DESC, run_id DESC, worker DESC"),
    "runs": ("run_id", "created_at DESC, status DESC"),
    "superseded": ("key, run_id", "created_at DESC"),
}


def ranking_columns(table: str) -> list[str]:
    """The columns :data:`TABLE_IDENTITY` reads for ``table`` (what a duplicate check must project)."""
    ident, order = TABLE_IDENTITY[table]
    names = TABLE_SCHEMAS[table].names
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", f"{ident} {order}")
    return [n for n in dict.fromkeys(words) if n in names]


def identity_columns(table: str) -> list[str]:
    """The columns that identify one logical row of ``table`` (``key`` for scores)."""
    return [c.strip() for c in TABLE_IDENTITY[table][0].split(",")]


@dataclass(frozen=True)
class ScoreIdentity:
    """Everything a stored value depends on; :meth:`key` is its digest (the ``key`` column)."""

    space: str
    space_options: str
    arch_index: int
    metric: str
    mode: str
    bn_mode: str
    num_classes: int
    batch_sha256: str
    seed: int
    metric_version: int
    metric_options: str
    device_class: str
    memory_format: str
    labels_sha256: str

    def key(self) -> str:
        """Stable on every machine; the leading ``v1`` marks the identity format (rows from before it
        have their own, shorter keys and are never recomputed)."""
        text = "|".join(["v1", *(str(getattr(self, name)) for name in _FIELD_NAMES)])
        return hashlib.sha1(text.encode()).hexdigest()

    def columns(self) -> dict:
        """The identity as score-table columns."""
        return {name: getattr(self, name) for name in _FIELD_NAMES}


#: the identity fields, which are also score-table columns
IDENTITY_FIELDS = tuple(f.name for f in fields(ScoreIdentity))
_FIELD_NAMES = IDENTITY_FIELDS
#: a score *variant*: the identity without the architecture (one value per architecture per variant)
VARIANT_FIELDS = tuple(f for f in IDENTITY_FIELDS if f not in ("space", "arch_index"))


def score_key(**identity: object) -> str:
    """``ScoreIdentity(**identity).key()``: every identity field must be given."""
    return ScoreIdentity(**identity).key()  # type: ignore[arg-type]
