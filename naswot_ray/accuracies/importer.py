"""One entry point for every benchmark import: pick the reader, check everything, then write once.

Why check-then-write: an import either lands completely (one new part file of the ``accuracies``
table, written atomically by :meth:`Store.write`) or not at all. Every reader returns its complete,
validated rows before anything touches the store, so a corrupt or wrong-layout file leaves the store
exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from naswot_ray.accuracies.csv_import import CsvOptions, import_csv
from naswot_ray.accuracies.nats import import_nats
from naswot_ray.accuracies.nb101_import import import_nb101_csv, import_nb101_json
from naswot_ray.accuracies.nb201_official import import_nb201_official
from naswot_ray.accuracies.nds_import import import_nds
from naswot_ray.accuracies.schema import ACCURACIES
from naswot_ray.errors import InputError
from naswot_ray.spaces import SearchSpace, get_space, space_names
from naswot_ray.store import Store

#: benchmark kinds and the space their rows belong to (nds_<space> kinds map to that NDS space)
KIND_SPACES = {"nb201": "nb201", "nats_tss": "nb201", "nats_sss": "nats_sss", "nb101": "nb101"}
FORMATS = ("official", "csv")


def benchmark_kinds() -> list[str]:
    return [*KIND_SPACES, *(name for name in space_names() if name.startswith("nds_"))]


def space_of_kind(kind: str) -> SearchSpace:
    if kind in KIND_SPACES:
        return get_space(KIND_SPACES[kind])
    if kind.startswith("nds_") and kind in space_names():
        return get_space(kind)
    raise InputError(f"unknown benchmark {kind!r}; valid choices: {', '.join(benchmark_kinds())}")


@dataclass
class ImportResult:
    """What an import produced (and, after :func:`import_benchmark`, where it was written)."""

    kind: str
    space: str
    table: pa.Table
    warnings: list[str]
    written: str | None = None
    #: column label -> architectures the source lists without a value there (skipped, not imported)
    missing: dict[str, int] = field(default_factory=dict)

    @property
    def architectures(self) -> int:
        return len(set(self.table.column("arch_index").to_pylist()))

    def columns(self) -> list[tuple[str, str, int, int, int]]:
        """(dataset, split, epochs, rows, skipped) per accuracy column, sorted; ``skipped`` counts the
        architectures the source lists without a value in that column."""
        counts: dict[tuple[str, str, int], int] = {}
        for key in zip(*(self.table.column(c).to_pylist() for c in ("dataset", "split", "epochs"))):
            counts[key] = counts.get(key, 0) + 1
        for label in self.missing:  # a column the source names but never fills is listed too
            dataset, split, epochs = label.rsplit(":", 2)
            counts.setdefault((dataset, split, int(epochs)), 0)
        return [(*key, n, self.missing.get(f"{key[0]}:{key[1]}:{key[2]}", 0)) for key, n in sorted(counts.items())]


def read_benchmark(kind: str, source: str | Path, *, fmt: str = "official", csv_options: CsvOptions | None = None,
                   nb101_repeats: str = "max", trust_pickle: bool = False,
                   space: SearchSpace | None = None) -> ImportResult:
    """Read and validate ``source`` completely; nothing is written. ``space`` overrides the kind's space (tests)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; valid choices: {', '.join(FORMATS)}")
    space = space or space_of_kind(kind)
    if fmt == "csv":
        if kind.startswith("nds_"):
            raise InputError("NDS accuracies come from the official JSON file; use --format official")
        if csv_options is None:
            raise InputError("--format csv needs --column CSV_NAME=DATASET:SPLIT:EPOCHS mappings")
        if kind == "nb101":
            rows, warnings = import_nb101_csv(source, space, csv_options)
        else:
            rows, _ = import_csv(source, space, csv_options)
            warnings = []
    elif kind == "nb201":
        rows, warnings = import_nb201_official(source, space, trust_pickle=trust_pickle)
    elif kind in ("nats_tss", "nats_sss"):
        rows, warnings = import_nats(source, space, kind.removeprefix("nats_"))
    elif kind == "nb101":
        rows, warnings = import_nb101_json(source, space, repeats=nb101_repeats)
    else:
        rows, warnings = import_nds(source, space)
    return ImportResult(kind, space.name, rows.table(), warnings, missing=dict(rows.missing))


def import_benchmark(store: Store, kind: str, source: str | Path, **options) -> ImportResult:
    """Read, validate, then append all rows to the store's ``accuracies`` table as one part file."""
    result = read_benchmark(kind, source, **options)
    result.written = store.write(ACCURACIES, result.table, tag=kind.replace("_", "")[:12])
    return result


__all__ = ["import_benchmark", "read_benchmark", "ImportResult", "benchmark_kinds", "space_of_kind", "KIND_SPACES",
           "FORMATS"]
