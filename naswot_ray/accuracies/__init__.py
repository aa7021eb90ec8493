"""Trained-accuracy tables of the NAS benchmarks, imported into the store's tidy ``accuracies`` table.

Importing this package registers the ``accuracies`` table with the store. Readers: the official
NAS-Bench-201 ``.pth`` (:mod:`.nb201_official`), NATS-Bench directories/archives (:mod:`.nats`), NDS
JSON sweeps (:mod:`.nds_import`), NB101 exports (:mod:`.nb101_import`) and any CSV with a column
mapping (:mod:`.csv_import`); :func:`import_benchmark` validates a whole file and then writes once.
Benchmark files that are pickles (``.pth``, ``.pickle.pbz2``) are loaded only from paths the user names.
"""

from naswot_ray.accuracies.schema import ACCURACIES, ACCURACIES_SCHEMA, DATASETS, SPLITS, AccuracyColumn
from naswot_ray.accuracies.csv_import import ColumnMap, CsvOptions, parse_column_mapping
from naswot_ray.accuracies.importer import ImportResult, benchmark_kinds, import_benchmark, read_benchmark

__all__ = ["ACCURACIES", "ACCURACIES_SCHEMA", "DATASETS", "SPLITS", "AccuracyColumn", "ColumnMap", "CsvOptions",
           "parse_column_mapping", "ImportResult", "benchmark_kinds", "import_benchmark", "read_benchmark"]
