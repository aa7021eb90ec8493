"""``naswot-ray export``: the stored scores of a space as CSV, Parquet or JSON, written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from naswot_ray.errors import InputError
from naswot_ray.spaces import get_space
from naswot_ray.store import Store, query_arrow

FORMATS = ("csv", "parquet", "json")
LEADING = ["arch_index", "arch", "metric", "value", "status", "mode", "value_scale", "error"]


@click.command("export")
@click.option("--store", "store_root", required=True, help="Store directory or URI.")
@click.option("--space", required=True, help="Space whose scores to export.")
@click.option("--metric", default=None, help="Only this metric (default: all).")
@click.option("--format", "fmt", required=True, help="csv, parquet or json.")
@click.option("--output", required=True, type=click.Path(dir_okay=False), help="Output file.")
def export_command(store_root: str, space: str, metric: str | None, fmt: str, output: str) -> None:
    """Write one row per stored score (latest per key), sorted by architecture index and metric."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; valid choices: {', '.join(FORMATS)}")
    space_name = get_space(space).name
    store = Store(store_root)
    if not store.exists():
        raise InputError(f"store {store_root!r} does not exist")
    con = store.connect(tables=("scores",))
    where, params = ["space = ?"], [space_name]
    if metric is not None:
        known = [r[0] for r in con.execute("SELECT DISTINCT metric FROM scores WHERE space = ?", [space_name]).fetchall()]
        if metric not in known:
            raise InputError(f"no scores for metric {metric!r} of space {space_name!r} in the store; stored metrics: "
                             f"{', '.join(sorted(known)) or 'none'}")
        where.append("metric = ?")
        params.append(metric)
    columns = LEADING + [c for c in store.load("scores").column_names if c not in LEADING]
    table = query_arrow(con, f"SELECT {', '.join(columns)} FROM scores WHERE {' AND '.join(where)} "
                        "ORDER BY arch_index, metric, mode", params)
    if table.num_rows == 0:
        raise InputError(f"no scores for space {space_name!r} in store {store_root!r}")
    write_atomically(table, Path(output), fmt)
    click.echo(f"wrote {table.num_rows} rows to {output}")
    for problem in store.problems:
        click.echo(f"warning: unreadable part file skipped: {problem.path} ({problem.reason})", err=True)


def write_atomically(table, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if fmt == "csv":
            pacsv.write_csv(table.set_column(table.schema.get_field_index("created_at"), "created_at",
                                             table.column("created_at").cast("string")), tmp)
        elif fmt == "parquet":
            pq.write_table(table, tmp)
        else:
            table.to_pandas().to_json(tmp, orient="records", lines=False, date_format="iso", indent=None)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
