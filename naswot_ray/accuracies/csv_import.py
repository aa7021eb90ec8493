"""Importing accuracies from any CSV with a column mapping (``--column NAME=DATASET:SPLIT:EPOCHS``).

Why a mapping instead of guessing: published tables name the same number in a dozen ways
(``cifar10valid_oritest``, ``cifar10-val``, ``valid_test_top1``), and a wrong guess would silently
correlate against the wrong split. The user says once which column is which.

Rows name their architecture by an arch string column (``arch_str``, ``arch``, ``cellstr``, ...), by an
index column (``index``, ``arch_index``; an all-integer ``arch`` column counts as an index), or both, in
which case they must agree (so a file in a different index order is caught, not mis-joined). NB101
rows may instead give ``adjacency`` + ``ops`` columns or a ``hash`` column (see :mod:`.nb101_import`).

The whole file is checked before a table is returned: unknown columns, non-numeric cells, values
outside 0..100 %, duplicate architectures and unknown architectures all raise one-line InputErrors that
name the file. Empty cells are skipped and counted per column (a partial table imports what it has and
the import says how many it skipped). Scale factors must be finite and positive: a zero scale used to
store every value as 0.0, or be applied as x1 while the provenance said x0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from naswot_ray.accuracies.keys import benchmark_key, key_for_index
from naswot_ray.accuracies.schema import AccuracyColumn, AccuracyRows
from naswot_ray.accuracies.sources import existing_path, file_source
from naswot_ray.errors import InputError
from naswot_ray.spaces import SearchSpace

ARCH_COLUMNS = ("arch_str", "arch", "cellstr", "arch_string", "architecture", "ArchitectureString")
INDEX_COLUMNS = ("index", "arch_index", "uid")
EXPECTED_CSV = "a CSV file with a header row"
_MAPPING_RE = re.compile(r"^(?P<name>[^=]+)=(?P<dataset>[^:]+):(?P<split>[^:]+):(?P<epochs>\d+)$")


@dataclass(frozen=True)
class ColumnMap:
    """One CSV column and where its numbers go."""

    csv_name: str
    target: AccuracyColumn


def parse_column_mapping(text: str) -> ColumnMap:
    """Parse ``CSV_NAME=DATASET:SPLIT:EPOCHS`` (e.g. ``cifar10valid_oritest=cifar10-valid:ori-test:200``)."""
    match = _MAPPING_RE.match(text.strip())
    if not match:
        raise InputError(f"malformed column mapping {text!r}; expected CSV_NAME=DATASET:SPLIT:EPOCHS, "
                         "e.g. cifar10valid_oritest=cifar10-valid:ori-test:200")
    target = AccuracyColumn(match["dataset"].strip(), match["split"].strip(), int(match["epochs"]))
    return ColumnMap(match["name"].strip(), target)


@dataclass
class CsvOptions:
    """What to read from the CSV. ``accuracy_scale`` None = values are percent, checked to look like it."""

    columns: Sequence[ColumnMap]
    arch_column: str | None = None
    index_column: str | None = None
    params_column: str | None = None
    params_scale: float = 1.0
    flops_column: str | None = None
    flops_scale: float = 1.0
    train_seconds_column: str | None = None
    accuracy_scale: float | None = None
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for flag, value in (("--params-scale", self.params_scale), ("--flops-scale", self.flops_scale),
                            ("--accuracy-scale", self.accuracy_scale)):
            if value is not None and not (math.isfinite(float(value)) and float(value) > 0):
                raise InputError(f"{flag} {value!r} is not a positive finite number; expected a factor > 0, e.g. 1e6")


def read_csv(path: str | Path) -> tuple[Path, pd.DataFrame]:
    """The file as a DataFrame of strings-or-numbers; unreadable or empty files raise InputError."""
    file = existing_path(path, EXPECTED_CSV)
    if file.is_dir():
        raise InputError(f"{str(path)!r} is a directory; expected {EXPECTED_CSV}")
    try:
        # all text: numbers are converted per column later, and 0/1 strings such as NB101 adjacency
        # rows ("0010...") must keep their leading zeros
        frame = pd.read_csv(file, dtype=str, keep_default_na=True)
    except pd.errors.EmptyDataError:
        raise InputError(f"{str(path)!r} is empty; expected {EXPECTED_CSV}") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        reason = str(err).splitlines()[0]
        raise InputError(f"{str(path)!r} cannot be parsed as CSV ({reason}); expected {EXPECTED_CSV}") from None
    if frame.empty:
        raise InputError(f"{str(path)!r} has a header but no rows; expected {EXPECTED_CSV}")
    return file, frame


def import_csv(path: str | Path, space: SearchSpace, options: CsvOptions,
               arch_texts: Callable[[pd.DataFrame, str], list[str] | None] | None = None) -> tuple[AccuracyRows, pd.DataFrame]:
    """Rows for every mapped column of every CSV row. ``arch_texts`` lets a space add its own arch columns."""
    if not options.columns:
        raise InputError("no accuracy columns given; pass --column CSV_NAME=DATASET:SPLIT:EPOCHS (one per column)")
    if space.size is None:
        raise InputError(f"space {space.name!r} has no fixed index; CSV import needs a space with a fixed size "
                         "(for NDS use the official JSON file)")
    file, frame = read_csv(path)
    origin = f"CSV file {str(path)!r}"
    available = ", ".join(map(str, frame.columns))
    for mapping in options.columns:
        _require_column(frame, mapping.csv_name, origin, available)
    for extra in (options.params_column, options.flops_column, options.train_seconds_column):
        if extra is not None:
            _require_column(frame, extra, origin, available)
    targets = [m.target for m in options.columns]
    if len(set(targets)) != len(targets):
        raise InputError("two --column mappings point at the same DATASET:SPLIT:EPOCHS; map each target once")

    indices, archs = _architectures(frame, space, options, origin, available, arch_texts)
    scale = 1.0 if options.accuracy_scale is None else float(options.accuracy_scale)
    note = f"accuracy x{scale:g}" if scale != 1.0 else ""
    rows = AccuracyRows(space.name, file_source(file, note), origin)
    params = _counts(_numeric(frame, options.params_column, origin, options.params_scale))
    flops = _counts(_numeric(frame, options.flops_column, origin, options.flops_scale))
    seconds = _numeric(frame, options.train_seconds_column, origin, 1.0)
    for mapping in options.columns:
        values = _numeric(frame, mapping.csv_name, origin, scale)
        assert values is not None
        present = ~np.isnan(values)
        if not present.any():
            raise InputError(f"{origin}: column {mapping.csv_name!r} has no numbers")
        rows.skip(mapping.target, int((~present).sum()))
        if options.accuracy_scale is None and np.nanmax(values) <= 1.0:
            raise InputError(f"{origin}: column {mapping.csv_name!r} holds values <= 1 (fractions?); accuracies must "
                             "be percent: pass --accuracy-scale 100 (or --accuracy-scale 1 to import them as they are)")
        for i in np.flatnonzero(present):
            rows.add(arch_index=indices[i], arch=archs[i], column=mapping.target, accuracy=values[i],
                     params=None if params is None else params[i], flops=None if flops is None else flops[i],
                     train_seconds=None if seconds is None else seconds[i])
    return rows, frame


def _require_column(frame: pd.DataFrame, name: str, origin: str, available: str) -> None:
    if name not in frame.columns:
        raise InputError(f"{origin} has no column {name!r}; available columns: {available}")


def _numeric(frame: pd.DataFrame, name: str | None, origin: str, scale: float) -> np.ndarray | None:
    """A column as float64 (NaN for empty cells) times ``scale``; text cells raise InputError."""
    if name is None:
        return None
    raw = frame[name]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{origin}: column {name!r} row {row + 2} holds {raw.iloc[row]!r}; expected a number")
    return values.to_numpy(dtype=np.float64) * float(scale)


def _counts(values: np.ndarray | None) -> np.ndarray | None:
    """Params/FLOPs are counts: round away the float noise of scaling millions (0.129306 * 1e6)."""
    return None if values is None else np.round(values)


def _architectures(frame: pd.DataFrame, space: SearchSpace, options: CsvOptions, origin: str, available: str,
                   arch_texts: Callable[[pd.DataFrame, str], list[str] | None] | None) -> tuple[list[int], list[str]]:
    """(index, stored arch) per row, from the arch and/or index columns; they must agree when both exist."""
    arch_col, index_col = _pick_columns(frame, options, origin, available)
    texts = frame[arch_col].astype(str).str.strip().tolist() if arch_col else None
    if texts is None and arch_texts is not None:
        texts = arch_texts(frame, origin)
    if texts is None and index_col is None:
        raise InputError(f"{origin} names no architectures; expected an arch column ({', '.join(ARCH_COLUMNS)}) "
                         f"or an index column ({', '.join(INDEX_COLUMNS)}); available columns: {available}")
    raw_index = None
    if index_col is not None:
        raw_index = pd.to_numeric(frame[index_col], errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(np.isnan(raw_index) | (raw_index != np.floor(raw_index)))
        if bad.size:
            row = int(bad[0])
            raise InputError(f"{origin}: index column {index_col!r} row {row + 2} holds "
                             f"{frame[index_col].iloc[row]!r}; expected an integer architecture index")
    indices: list[int] = []
    archs: list[str] = []
    seen: dict[int, int] = {}
    for row in range(len(frame)):
        try:
            if texts is not None:
                index, arch = benchmark_key(space, texts[row])
                if raw_index is not None and int(raw_index[row]) != index:
                    raise InputError(f"index {int(raw_index[row])} but the arch is index {index} of space "
                                     f"{space.name!r}: the file is not in the space's index order")
            else:
                assert raw_index is not None
                index, arch = key_for_index(space, int(raw_index[row]))
        except InputError as err:
            raise InputError(f"{origin} row {row + 2}: {err}") from None
        if index in seen:
            raise InputError(f"{origin}: rows {seen[index] + 2} and {row + 2} are the same architecture "
                             f"(index {index}); expected one row per architecture")
        seen[index] = row
        indices.append(index)
        archs.append(arch)
    return indices, archs


def _pick_columns(frame: pd.DataFrame, options: CsvOptions, origin: str, available: str) -> tuple[str | None, str | None]:
    """The arch-string and index columns: the user's choice, else the first known name that fits."""
    for name in (options.arch_column, options.index_column):
        if name is not None:
            _require_column(frame, name, origin, available)
    arch_col, index_col = options.arch_column, options.index_column
    if arch_col is None:
        for name in ARCH_COLUMNS:
            if name in frame.columns and name != index_col and not _integer_column(frame[name]):
                arch_col = name
                break
    if index_col is None:
        for name in (*INDEX_COLUMNS, *ARCH_COLUMNS):
            if name in frame.columns and name != arch_col and _integer_column(frame[name]):
                index_col = name
                break
    return arch_col, index_col


def _integer_column(column: pd.Series) -> bool:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    return bool(len(values) and np.all(np.isfinite(values)) and np.all(values == np.floor(values)))


__all__ = ["ColumnMap", "CsvOptions", "import_csv", "parse_column_mapping", "read_csv", "ARCH_COLUMNS", "INDEX_COLUMNS"]
