"""``naswot-ray store verify`` and ``naswot-ray store compact``: check a store, and merge its parts.

verify reads every part of every table in full and checks that each is readable, that no score key is
stored twice, and that every run's ``runs`` row matches the rows it claims (a finished run holds rows of
exactly the architectures it says it scored or failed). Exit 0 when all holds, 1 when the store needs
attention (each problem is one line), 2 for bad input.

compact merges small parts into large ones and drops duplicate rows, keeping the row readers pick; it
refuses (exit 1) while a run on the store is live. See ``naswot_ray.store.compact`` for why a crash
at any point of it loses no key.
"""

from __future__ import annotations

import sys

import click

from naswot_ray.errors import InputError
from naswot_ray.cli.types import POSITIVE, STORE, Int
from naswot_ray.store import DEFAULT_STORE, Store
from naswot_ray.store.heartbeat import STALE_AFTER_SECONDS
from naswot_ray.store.compact import TARGET_ROWS, compact
from naswot_ray.store.verify import verify

STORE_OPTION = click.option("--store", "store_root", default=DEFAULT_STORE, show_default=True, type=STORE,
                            help="Store directory or URI (s3://...).")
STALE_OPTION = click.option("--stale-after", default=STALE_AFTER_SECONDS, show_default=True,
                            type=POSITIVE,
                            help="Seconds without a heartbeat after which a `running` run counts as crashed.")


@click.group("store")
def store_group() -> None:
    """Check (verify) or tidy (compact) a store."""


@store_group.command("verify")
@STORE_OPTION
@STALE_OPTION
def verify_command(store_root: str, stale_after: float) -> None:
    """Check every part, every key and every run of a store; exit 1 if anything needs attention."""
    report = verify(_existing(store_root), stale_after=stale_after)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        sys.exit(1)


@store_group.command("compact")
@STORE_OPTION
@STALE_OPTION
@click.option("--target-rows", default=TARGET_ROWS, show_default=True, type=Int(2),
              help="Rows per merged part; parts with fewer than half of it are merged.")
def compact_command(store_root: str, stale_after: float, target_rows: int) -> None:
    """Merge small parts and drop duplicate rows (refused while a run on the store is live)."""
    report = compact(_existing(store_root), target_rows=target_rows, stale_after=stale_after)
    for line in report.lines():
        click.echo(line)


def _existing(store_root: str) -> Store:
    store = Store(store_root)
    if not store.exists():
        raise InputError(f"store {store_root!r} does not exist")
    return store
