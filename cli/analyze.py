"""``naswot-ray analyze``: how well each stored score ranks architectures by trained accuracy."""

from __future__ import annotations

from pathlib import Path

import click

from naswot_ray.errors import InputError
from naswot_ray.store import DEFAULT_STORE, Store


def _split_list(text: str | None, what: str) -> list[str] | None:
    if text is None:
        return None
    items = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise InputError(f"malformed {what} list {text!r}; expected comma-separated names")
    return items


def _int_list(text: str | None) -> list[int] | None:
    items = _split_list(text, "epochs")
    if items is None:
        return None
    try:
        return [int(item) for item in items]
    except ValueError:
        raise InputError(f"malformed epochs list {text!r}; expected comma-separated integers, e.g. 12,200") from None


@click.command("analyze")
@click.option("--store", default=DEFAULT_STORE, show_default=True, help="Store directory or URI.")
@click.option("--space", "spaces", default=None, help="Comma-separated spaces (default: every scored space).")
@click.option("--metrics", default=None, help="Comma-separated metrics (default: every stored metric).")
@click.option("--dataset", "datasets", default=None,
              help="Comma-separated benchmark datasets, e.g. cifar10-valid,cifar100 (default: all imported).")
@click.option("--split", "splits", default=None, help="Comma-separated splits, e.g. ori-test,x-test (default: all).")
@click.option("--epochs", default=None, help="Comma-separated training budgets, e.g. 200 (default: all).")
@click.option("--protocol", default="all", show_default=True,
              help="all (every finite score), paper (NASWOT Figure 3: acc > 15 %, 1000-point seeded subsample), or both.")
@click.option("--ci", default="auto", show_default=True,
              help="95 % intervals: auto (bootstrap up to 3000 points, Fisher-z above), bootstrap, asymptotic, none.")
@click.option("--bootstrap", "resamples", default=200, show_default=True, type=int, help="Bootstrap resamples.")
@click.option("--seed", default=1, show_default=True, type=int, help="Seed of the paper subsample and the bootstrap.")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Write report.md, report.html, correlations.csv and PNGs here.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG figures.")
@click.option("--digits", default=3, show_default=True, type=int, help="Decimals printed for tau and rho.")
def analyze_command(store: str, spaces: str | None, metrics: str | None, datasets: str | None, splits: str | None,
                    epochs: str | None, protocol: str, ci: str, resamples: int, seed: int, out: str | None,
                    no_plots: bool, digits: int) -> None:
    """Kendall tau-b, Spearman rho, 95 % CIs and top-10 % precision of every score vs every accuracy column.

    Scores and accuracies are joined by space, architecture index and arch string (NB101: module hash).
    One line per (space, metric variant, dataset, split, epochs, protocol).
    """
    from analysis.join import Filters
    from analysis.report import AnalysisOptions, analyze
    from analysis.tables import format_terminal

    protocols = ["all", "paper"] if protocol == "both" else [protocol]
    options = AnalysisOptions(
        filters=Filters(spaces=_split_list(spaces, "space"), metrics=_split_list(metrics, "metric"),
                        datasets=_split_list(datasets, "dataset"), splits=_split_list(splits, "split"),
                        epochs=_int_list(epochs)),
        protocols=protocols, ci=ci, resamples=resamples, seed=seed, plots=not no_plots, digits=digits)
    the_store = Store(store)
    result = analyze(the_store, options, Path(out) if out else None)
    click.echo(format_terminal(result.table.frame, digits))
    timing = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result.timings.items())
    click.echo(f"\n{len(result.table.frame)} correlations ({timing})")
    if out:
        click.echo(f"wrote {len(result.files)} files to {out}: report.html, report.md, correlations.csv, "
                   f"{len(result.files) - 3} PNG(s)")
    for space in result.unjoined_spaces:
        click.echo(f"note: scores of space {space!r} match no stored accuracy; import them with "
                   f"naswot-ray import-benchmark", err=True)
    for problem in the_store.problems:
        click.echo(f"warning: unreadable part file skipped: {problem.path} ({problem.reason})", err=True)
