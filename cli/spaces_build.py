"""``naswot-ray spaces build NAME``: prepare a space's on-disk tables ahead of a run.

Why a command: NB101's index <-> cell table takes minutes of CPU to enumerate on first use. Building it
once, on purpose (on a login node, or in a cluster image), is better than every fresh worker stalling
on it. Run again, the command verifies the cached table instead of rebuilding it, so it doubles as a
check of what a run will load. Only spaces listed in :data:`BUILDERS` have something to build.

A run that finds the table missing builds it too, but in the driver, saying so with its own progress
bar (``SearchSpace.prepare``, called by the engine before any scorer starts), not silently inside every
scorer while the scoring bar sits at 0 %.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import click
import numpy as np

from naswot_ray.cli.types import WORKERS
from naswot_ray.errors import InputError
from naswot_ray.spaces import SPACES, space_names
from naswot_ray.spaces.nb101.space import NB101Space
from naswot_ray.spaces.nb101.cache import build_nb101_cache, default_cache_path, load_nb101_table
from naswot_ray.spaces.nb101.enumeration import CELLS_PER_VERTEX_COUNT, EnumeratedCells, expected_size
from naswot_ray.spaces.nb101.graph import MAX_VERTICES

#: rows of a cached table re-hashed on verification (evenly spaced, first and last included)
VERIFY_SAMPLE = 1000


def build_nb101(workers: int, rebuild: bool) -> None:
    """Build the NB101 cell table if missing (or ``rebuild``), then verify it and print its counts."""
    max_vertices = NB101Space().max_vertices  # honours NASWOT_RAY_NB101_MAX_VERTICES like every run does
    path = default_cache_path(max_vertices)
    if rebuild or not path.exists():
        click.echo(f"building the NB101 cell table ({expected_size(max_vertices):,} cells) with {workers} "
                   f"worker(s); the full space takes minutes of CPU")
        started = time.perf_counter()

        def progress(cells: EnumeratedCells) -> None:
            click.echo(f"  enumerated V={cells.num_vertices}: {len(cells):,} cells "
                       f"({time.perf_counter() - started:.1f} s)")

        build_nb101_cache(path, workers=workers, max_vertices=max_vertices, on_vertex_count=progress)
        action = f"built in {time.perf_counter() - started:.1f} s"
    else:
        action = "verified (already cached)"
    stamp = path.stat().st_mtime_ns
    # load_nb101_table re-checks size, dtypes and hash order, and rebuilds an unreadable file in place
    table = load_nb101_table(max_vertices, path, workers=workers)
    if path.stat().st_mtime_ns != stamp:
        action = "rebuilt (the cached file was unreadable or from another version)"
    counts = np.bincount(table.num_vertices, minlength=max_vertices + 1)
    expected = {v: n for v, n in CELLS_PER_VERTEX_COUNT.items() if v <= max_vertices}
    found = {v: int(counts[v]) for v in expected}
    rows = np.unique(np.linspace(0, len(table) - 1, num=min(VERIFY_SAMPLE, len(table))).astype(int))
    bad_rows = [int(i) for i in rows if table.cell_at(int(i)).module_hash() != table.hash_at(int(i))]
    click.echo(f"NB101 cell table {action}:")
    for v, count in found.items():
        click.echo(f"  V={v}: {count:,} cells")
    click.echo(f"  total: {len(table):,} cells")
    if max_vertices != MAX_VERTICES:
        click.echo(f"  (limited to V<={max_vertices} by NASWOT_RAY_NB101_MAX_VERTICES; the full space has "
                   f"{expected_size(MAX_VERTICES):,} cells)")
    click.echo(f"cache: {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    if found != expected or len(table) != expected_size(max_vertices):
        raise click.ClickException(f"NB101 cell counts per V {found} differ from the benchmark's {expected}; "
                                   f"delete {path} and rebuild")
    if bad_rows:
        raise click.ClickException(f"{len(bad_rows)} of {len(rows)} re-hashed NB101 rows (e.g. row {bad_rows[0]}) "
                                   f"do not match their stored hash; rebuild with --rebuild")


#: space name -> what ``spaces build`` does for it (``workers``, ``rebuild``)
BUILDERS: dict[str, Callable[[int, bool], None]] = {"nb101": build_nb101}


def resolve_buildable(name: str) -> str:
    """The canonical name of a space that has something to build, or a one-line InputError."""
    space_names()  # loads every space module so aliases resolve
    canonical = SPACES.canonical_name(name) if name in SPACES else name
    if canonical in BUILDERS:
        return canonical
    what = f"space {name!r} has nothing to build" if name in SPACES else f"unknown space {name!r}"
    raise InputError(f"{what}; valid choices: {', '.join(sorted(BUILDERS))}")


@click.command("build", short_help="Build (or verify) the cached tables of a space (nb101: its cell table).")
@click.argument("name")
@click.option("--workers", default=os.cpu_count() or 1, show_default="number of CPUs", type=WORKERS,
              help="Processes hashing NB101 cells in parallel.")
@click.option("--rebuild", is_flag=True, help="Enumerate again even if a valid table is cached.")
def build_command(name: str, workers: int, rebuild: bool) -> None:
    """Build (or verify) the cached tables of space NAME (nb101: its cell table, in the user cache
    directory, $NASWOT_RAY_CACHE or ~/.cache/naswot-ray), printing what was found and where."""
    BUILDERS[resolve_buildable(name)](workers, rebuild)
