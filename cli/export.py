"""``naswot-ray export``: the stored scores of a space as CSV, Parquet or JSON, exact and written atomically.

Values read back as exactly the stored float64 in every format (``naswot_ray.store.export``). A file
output appears whole or not at all (written to a hidden temporary name beside it, then renamed);
``--output -`` writes to standard output.
"""

from __future__ import annotations

import os
import io
import sys
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.compute as pc

from naswot_ray.errors import EnvironmentProblem, InputError
from naswot_ray.spaces import get_space
from naswot_ray.store import DEFAULT_STORE, SCORES_SCHEMA, Store
from naswot_ray.store.export import FORMATS, ordered_columns, write_table


@click.command("export")
@click.option("--store", "store_root", default=DEFAULT_STORE, show_default=True, help="Store directory or URI.")
@click.option("--space", required=True, help="Space whose scores to export.")
@click.option("--metric", default=None, help="Only this metric (default: all).")
@click.option("--format", "fmt", required=True, help="csv, parquet or json (any case).")
@click.option("--output", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Output file, or - for standard output.")
def export_command(store_root: str, space: str, metric: str | None, fmt: str, output: str) -> None:
    """Write one row per stored score (the row readers pick per key), sorted by architecture index and metric."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; valid choices: {', '.join(FORMATS)}")
    space_name = get_space(space).name
    store = Store(store_root)
    if not store.exists():
        raise InputError(f"store {store_root!r} does not exist")
    condition = pc.field("space") == space_name
    if metric is not None:
        known = sorted(set(store.scan("scores", columns=["metric"], filter=condition).column("metric").to_pylist()))
        if metric not in known:
            raise InputError(f"no scores for metric {metric!r} of space {space_name!r} in the store; stored metrics: "
                             f"{', '.join(known) or 'none'}")
        condition = condition & (pc.field("metric") == metric)
    table = store.latest("scores", filter=condition, columns=ordered_columns(SCORES_SCHEMA.names))
    if table.num_rows == 0:
        raise InputError(f"no scores for space {space_name!r} in store {store_root!r}")
    table = table.sort_by([("arch_index", "ascending"), ("metric", "ascending"), ("mode", "ascending"),
                           ("key", "ascending")])
    if output == "-":
        _to_stdout(table, fmt)
    else:
        write_atomically(table, Path(output), fmt)
    click.echo(f"wrote {table.num_rows} rows to {'standard output' if output == '-' else output}",
               err=output == "-")
    for line in store.summary_lines():
        click.echo(f"warning: {line}", err=True)


def write_atomically(table: pa.Table, path: Path, fmt: str) -> None:
    """Write ``table`` to ``path`` whole or not at all; an unwritable folder is one line (exit 1)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as sink:
            write_table(table, fmt, sink)
        os.replace(tmp, path)
    except (NotADirectoryError, IsADirectoryError, FileExistsError) as exc:
        raise InputError(f"cannot write --output {str(path)!r}: {exc.strerror or exc}") from None
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write --output {str(path)!r}: {exc.strerror or exc}; "
                                 "choose a writable folder") from None
    finally:
        try:
            tmp.unlink()
        except OSError:
            pass


def _to_stdout(table, fmt: str) -> None:
    """Stream to standard output's bytes; where standard output is text only (a notebook, an embedding
    program), CSV and JSON go as text and Parquet is refused in one line."""
    binary = getattr(sys.stdout, "buffer", None)
    if binary is not None:
        sys.stdout.flush()
        write_table(table, fmt, binary)
        binary.flush()
        return
    if fmt == "parquet":
        raise InputError("--format parquet needs a binary standard output; give --output FILE")
    sink = io.BytesIO()
    write_table(table, fmt, sink)
    sys.stdout.write(sink.getvalue().decode("utf-8"))
