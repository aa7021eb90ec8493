"""``naswot-ray rerun RUN_ID``: replay a stored run's exact configuration (see :mod:`naswot_ray.api.replay`)."""

from __future__ import annotations

import click

from naswot_ray.cli.types import STORE, WORKERS
from naswot_ray.store import DEFAULT_STORE


@click.command("rerun")
@click.argument("run_id")
@click.option("--store", default=DEFAULT_STORE, show_default=True, type=STORE, help="Store whose runs table holds RUN_ID.")
@click.option("--into", default=None, metavar="STORE", type=STORE,
              help="Write the rows into this store instead (an empty one recomputes every value); default: --store, "
                   "where the run resumes.")
@click.option("--address", default=None, help="Ray cluster address (e.g. auto); default: start a local Ray.")
@click.option("--num-workers", default=None, type=WORKERS, help="Scorer actors (default: as the run had).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--no-dashboard", is_flag=True, help="Start the local Ray without its dashboard.")
def rerun_command(run_id: str, store: str, into: str | None, address: str | None, num_workers: int | None,
                  no_progress: bool, no_dashboard: bool) -> None:
    """Run RUN_ID of --store again with exactly its stored configuration (space and its options, metrics with
    modes and options, batch, seeds, plugins); only where it runs may change.

    Into the same store it resumes: a finished run has nothing to do. Into an empty store (--into) it
    reproduces the same values under the same keys. RUN_ID `latest` names the store's newest score-all or
    rerun run; `naswot-ray export` or the runs table name the others.
    """
    from naswot_ray.api.replay import rerun

    summary = rerun(run_id, store=store, into=into, address=address, num_workers=num_workers,
                    progress=not no_progress, dashboard=not no_dashboard)
    for line in summary.lines():
        click.echo(line)
    click.echo(f"store: {into or store}")
