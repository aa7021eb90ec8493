"""Exports of stored scores that read back as exactly the stored float64 values, in every format.

The rule, the same in CSV, JSON and Parquet: a finite value is written with the digits of Python's
``repr`` (the shortest decimal that reads back as the same float64: at most 17 significant digits);
the non-finite values a metric defines (NASWOT's ``-inf`` for a singular kernel) are ``-inf``, ``inf``
and ``nan`` (JSON has no such numbers, so there they are the strings ``"-inf"``, ``"inf"``, ``"nan"``);
an error row has no value: null in JSON and Parquet, an empty field in CSV. Timestamps are ISO 8601
strings in UTC in the text formats.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FORMATS = ("csv", "parquet", "json")
LEADING = ["arch_index", "arch", "metric", "value", "status", "mode", "value_scale", "error"]


def without_error_values(table: pa.Table) -> pa.Table:
    """``value`` set to null on error rows (the stored NaN there is a placeholder, not a value)."""
    index = table.schema.get_field_index("value")
    if index < 0 or "status" not in table.column_names:
        return table
    is_error = pc.fill_null(pc.equal(table.column("status"), "error"), False)
    values = pc.if_else(is_error, pa.scalar(None, pa.float64()), table.column("value"))
    return table.set_column(index, "value", values)


def write_table(table: pa.Table, fmt: str, sink: BinaryIO) -> None:
    """Write ``table`` to ``sink`` in ``fmt`` (csv, parquet or json) following the module's rule."""
    table = without_error_values(table)
    if fmt == "parquet":
        pq.write_table(table, sink, compression="zstd")
    elif fmt == "csv":
        pacsv.write_csv(_timestamps_as_text(table), sink)  # pyarrow writes doubles shortest-round-trip
    elif fmt == "json":
        _write_json(table, sink)
    else:
        raise ValueError(f"unknown export format {fmt!r}")


def json_number(value: float | None) -> float | str | None:
    """A float64 as JSON: a number (repr digits), "-inf"/"inf"/"nan", or null."""
    if value is None:
        return None
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value  # json writes float.__repr__: the shortest exact decimal


def _write_json(table: pa.Table, sink: BinaryIO) -> None:
    floats = {f.name for f in table.schema if pa.types.is_floating(f.type)}
    sink.write(b"[")
    first = True
    for batch in table.to_batches(max_chunksize=10_000):
        for row in batch.to_pylist():
            record = {name: json_number(v) if name in floats else _plain(v) for name, v in row.items()}
            sink.write((b"" if first else b",\n") + json.dumps(record, allow_nan=False).encode())
            first = False
    sink.write(b"]\n")


def _plain(value: object) -> object:
    return value.isoformat(timespec="microseconds") if isinstance(value, datetime) else value


def _timestamps_as_text(table: pa.Table) -> pa.Table:
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            # arrow's %S carries the fraction of the second (microseconds here)
            text = pc.strftime(table.column(i), format="%Y-%m-%dT%H:%M:%S" + ("%Ez" if f.type.tz else ""))
            table = table.set_column(i, f.name, text)
    return table


def ordered_columns(names: Iterable[str]) -> list[str]:
    """The export's column order: the leading, most-read columns first, then the rest as stored."""
    names = list(names)
    return [c for c in LEADING if c in names] + [c for c in names if c not in LEADING]
