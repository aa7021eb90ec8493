"""``naswot-ray import-benchmark``: put a benchmark's trained accuracies into the store's ``accuracies`` table."""

from __future__ import annotations

import click

from naswot_ray.accuracies.importer import FORMATS
from naswot_ray.accuracies.nb101_import import REPEATS as NB101_REPEATS
from naswot_ray.cli.types import INPUT_PATH, POSITIVE, STORE, Choice
from naswot_ray.store import DEFAULT_STORE, Store


@click.command("import-benchmark")
@click.argument("kind", metavar="BENCHMARK")
@click.option("--source", required=True, type=INPUT_PATH, help="Benchmark file, directory or archive (formats above).")
@click.option("--format", "fmt", default="official", show_default=True, type=Choice(FORMATS), help="official or csv.")
@click.option("--column", "columns", multiple=True, metavar="CSV_NAME=DATASET:SPLIT:EPOCHS",
              help="CSV only, repeatable: which accuracy a column holds, "
                   "e.g. cifar10valid_oritest=cifar10-valid:ori-test:200.")
@click.option("--columns", "columns_list", default=None, metavar="MAPPING,MAPPING",
              help="The same mappings comma-separated in one option.")
@click.option("--arch-column", default=None, help="CSV column with architecture strings (default: arch_str, arch, cellstr, ...).")
@click.option("--index-column", default=None, help="CSV column with architecture indices (default: index, arch_index, ...).")
@click.option("--params-column", default=None, help="CSV column with parameter counts.")
@click.option("--params-scale", default=1.0, show_default=True, type=POSITIVE,
              help="Multiply --params-column by this (1e6 for a column in millions).")
@click.option("--flops-column", default=None, help="CSV column with FLOPs.")
@click.option("--flops-scale", default=1.0, show_default=True, type=POSITIVE, help="Multiply --flops-column by this.")
@click.option("--train-seconds-column", default=None, help="CSV column with training time in seconds.")
@click.option("--accuracy-scale", default=None, type=POSITIVE,
              help="Multiply accuracies by this (100 for fractions). Default: values must already be percent.")
@click.option("--nb101-repeats", default="max", show_default=True, type=Choice(NB101_REPEATS),
              help="NB101: aggregate the training repeats by max (NASWOT's choice) or mean.")
@click.option("--trust-pickle", is_flag=True,
              help="NB201 .pth only: allow arbitrary pickled objects. Use only for files from a trusted source.")
@click.option("--store", default=DEFAULT_STORE, show_default=True, type=STORE, help="Store directory or URI.")
def import_benchmark_command(kind: str, source: str, fmt: str, columns: tuple[str, ...], columns_list: str | None,
                             arch_column: str | None, index_column: str | None, params_column: str | None,
                             params_scale: float, flops_column: str | None, flops_scale: float,
                             train_seconds_column: str | None, accuracy_scale: float | None, nb101_repeats: str,
                             trust_pickle: bool, store: str) -> None:
    """Import trained accuracies of BENCHMARK (nb201 | nats_tss | nats_sss | nb101 | nds_<space>) from --source.

    \b
    Official formats (--format official):
      nb201        NAS-Bench-201-v1_0-e61699.pth / -v1_1-096897.pth (needs the nas-bench-201 package)
      nats_tss/sss NATS-Bench directory, its .tar, or a .pickle.pbz2 file (needs nats_bench)
      nds_<space>  an NDS sweep JSON (list or {"top","mid"})
      nb101        JSON {module_hash: [fixed_stats, computed_stats]} from the NB101 API
    --format csv reads any CSV with --column mappings, for example:
      naswot-ray import-benchmark nb201 --format csv --source nb201_merged_200ep.csv \\
        --column cifar10valid_oritest=cifar10-valid:ori-test:200 --params-column params_M_cifar10 --params-scale 1e6

    The whole file is checked before anything is written; an import adds one part file. Files that are
    pickles (.pth, .pickle.pbz2) can run code when loaded: they are read only from the path you name here.
    """
    from naswot_ray.accuracies import CsvOptions, import_benchmark, parse_column_mapping

    texts = list(columns) + ([part for part in columns_list.split(",") if part.strip()] if columns_list else [])
    csv_options = None
    if fmt == "csv":
        csv_options = CsvOptions([parse_column_mapping(t) for t in texts], arch_column=arch_column,
                                 index_column=index_column, params_column=params_column, params_scale=params_scale,
                                 flops_column=flops_column, flops_scale=flops_scale,
                                 train_seconds_column=train_seconds_column, accuracy_scale=accuracy_scale)
    elif texts:
        raise click.UsageError("--column/--columns only apply to --format csv")
    result = import_benchmark(Store(store), kind, source, fmt=fmt, csv_options=csv_options,
                              nb101_repeats=nb101_repeats, trust_pickle=trust_pickle)
    click.echo(f"imported {result.table.num_rows} accuracies of {result.architectures} architectures "
               f"({result.kind} -> space {result.space}) into {store}")
    for dataset, split, epochs, count, skipped in result.columns():
        click.echo(f"  {dataset}:{split}:{epochs}  {count} architectures"
                   + (f" ({skipped} listed without a value: not imported)" if skipped else ""))
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
