"""``naswot-ray analyze``: how well each stored score ranks architectures by trained accuracy."""

from __future__ import annotations

from pathlib import Path

import click

from naswot_ray.cli.types import DIGITS, OUTPUT_DIR, RESAMPLES, SEED, STORE
from naswot_ray.errors import InputError
from naswot_ray.store import DEFAULT_STORE, Store


def _split_list(text: str | None, what: str) -> list[str] | None:
    """Comma-separated names; commas inside brackets belong to a variant label (``naswot[seed=2,v1]``)."""
    if text is None:
        return None
    items, depth, current = [], 0, ""
    for char in text:
        depth += (char == "[") - (char == "]")
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    items.append(current.strip())
    if not text.strip() or any(not item for item in items):
        raise InputError(f"malformed {what} list {text!r}; expected comma-separated names")
    return items


def _auto_ensembles(text: str | None) -> int:
    """``--ensembles auto`` -> 5, ``auto:K`` -> K, not given -> 0."""
    if text is None:
        return 0
    name, _, count = text.partition(":")
    if name.strip() != "auto" or (count and not count.strip().isdigit()) or (count and int(count) < 1):
        raise InputError(f"malformed --ensembles {text!r}; expected auto or auto:K (K >= 1 best ensembles), and "
                         "name single ensembles in --metrics as ensemble:<m1>+<m2> or ensemble:az_nas")
    return int(count) if count else 5


def _metric_filter(metrics: list[str] | None) -> tuple[list[str] | None, list[str]]:
    """Split --metrics into stored metric names (for the join) and ``ensemble:`` entries; the join
    loads every ensemble member too, so members are always reported beside their ensembles."""
    from naswot_ray.analysis.ensembles import is_ensemble, member_metrics, parse_ensemble

    if metrics is None:
        return None, []
    ensembles = [m for m in metrics if is_ensemble(m)]
    plain = [m.partition("[")[0] for m in metrics if not is_ensemble(m)]
    members = member_metrics([parse_ensemble(e) for e in ensembles])
    return sorted(set(plain + members)), ensembles


def _int_list(text: str | None) -> list[int] | None:
    items = _split_list(text, "epochs")
    if items is None:
        return None
    try:
        return [int(item) for item in items]
    except ValueError:
        raise InputError(f"malformed epochs list {text!r}; expected comma-separated integers, e.g. 12,200") from None


@click.command("analyze")
@click.option("--store", default=DEFAULT_STORE, show_default=True, type=STORE, help="Store directory or URI.")
@click.option("--space", "spaces", default=None, help="Comma-separated spaces (default: every scored space).")
@click.option("--metrics", default=None,
              help="Comma-separated metrics (default: every stored metric), and ensembles of stored metrics: "
                   "ensemble:az_nas, ensemble:vkdnw_agg, ensemble:vkdnw_single, ensemble:te_nas, "
                   "ensemble:<m1>+<m2>[+...] (rank sum), ensemble:logrank:<m1>+2*<m2> (log-rank product), "
                   "ensemble:lex:<m1>+<m2> (members named as in the table, e.g. naswot[clean]).")
@click.option("--ensembles", "ensembles_text", default=None, metavar="auto[:K]",
              help="Also search rank-sum and log-rank ensembles of the stored metrics on a seeded half of the cells "
                   "and report the K (default 5) best on the other half, next to the published aggregates.")
@click.option("--ensemble-target", default=None, metavar="DATASET:SPLIT:EPOCHS[,...]",
              help="Accuracy column(s) the ensemble search ranks by (mean rho) and the ensemble summary reports "
                   "(default: cifar10:ori-test, else cifar10-valid:ori-test or :x-valid, at the largest budget).")
@click.option("--all-heads", is_flag=True,
              help="Pair every head size with every dataset (default: a metric scored with several head sizes is "
                   "read through the head matching each dataset's class count).")
@click.option("--dataset", "datasets", default=None,
              help="Comma-separated benchmark datasets, e.g. cifar10-valid,cifar100 (default: all imported).")
@click.option("--split", "splits", default=None, help="Comma-separated splits, e.g. ori-test,x-test (default: all).")
@click.option("--epochs", default=None, help="Comma-separated training budgets, e.g. 200 (default: all).")
@click.option("--protocol", default="all", show_default=True,
              help="all (every scored architecture; a legal -inf ranks lowest), paper (NASWOT Figure 3: acc > 15 %, "
                   "1000-point seeded subsample), or both.")
@click.option("--ci", default="auto", show_default=True,
              help="95 % intervals: auto (bootstrap up to 3000 points, Fisher-z above), bootstrap, asymptotic, none.")
@click.option("--bootstrap", "resamples", default=200, show_default=True, type=RESAMPLES, help="Bootstrap resamples.")
@click.option("--seed", default=1, show_default=True, type=SEED,
              help="Seed of the paper subsample, the bootstrap and the --ensembles auto split.")
@click.option("--out", default=None, type=OUTPUT_DIR,
              help="Write report.md, report.html, correlations.csv and PNGs here.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG figures.")
@click.option("--digits", default=3, show_default=True, type=DIGITS, help="Decimals printed for tau and rho.")
def analyze_command(store: str, spaces: str | None, metrics: str | None, ensembles_text: str | None,
                    ensemble_target: str | None, all_heads: bool, datasets: str | None, splits: str | None,
                    epochs: str | None, protocol: str, ci: str, resamples: int, seed: int, out: str | None,
                    no_plots: bool, digits: int) -> None:
    """Kendall tau-b, Spearman rho, 95 % CIs and top-10 % precision of every score vs every accuracy column.

    Scores and accuracies are joined by space, architecture index and arch string (NB101: module hash).
    One line per (space, metric variant, dataset, split, epochs, protocol), in case-insensitive order.
    Error rows are dropped and counted; a metric's legal -inf (NASWOT's singular kernel) ranks lowest.
    """
    from naswot_ray.analysis.ensemble_summary import format_summary
    from naswot_ray.analysis.join import Filters
    from naswot_ray.analysis.report import AnalysisOptions, analyze, small_sample_warning
    from naswot_ray.analysis.tables import format_terminal

    protocols = ["all", "paper"] if protocol == "both" else [protocol]
    stored_metrics, ensembles = _metric_filter(_split_list(metrics, "metric"))
    options = AnalysisOptions(
        filters=Filters(spaces=_split_list(spaces, "space"), metrics=stored_metrics,
                        datasets=_split_list(datasets, "dataset"), splits=_split_list(splits, "split"),
                        epochs=_int_list(epochs), match_heads=not all_heads),
        protocols=protocols, ci=ci, resamples=resamples, seed=seed, plots=not no_plots, digits=digits,
        ensembles=ensembles, auto_ensembles=_auto_ensembles(ensembles_text), ensemble_target=ensemble_target)
    the_store = Store(store)
    result = analyze(the_store, options, Path(out) if out else None)
    click.echo(format_terminal(result.table.frame, digits))
    timing = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result.timings.items())
    click.echo(f"\n{len(result.table.frame)} correlations ({timing})")
    if result.ensembles is not None:
        click.echo("\nensembles vs their best member (sign-aware Spearman rho on the ensemble's architectures):")
        if result.ensemble_note:
            click.echo(result.ensemble_note)
        click.echo(format_summary(result.ensembles, digits))
    if out:
        extra = ", ensembles.csv" if result.ensembles is not None else ""
        click.echo(f"wrote {len(result.files)} files to {out}: report.html, report.md, correlations.csv{extra}, "
                   f"{len(result.files) - 3 - bool(extra)} PNG(s)")
    if len(result.small_samples):
        click.echo(f"warning: {small_sample_warning(result.table.frame)}", err=True)
    for space in result.unjoined_spaces:
        click.echo(f"note: scores of space {space!r} match no stored accuracy; import them with "
                   f"naswot-ray import-benchmark", err=True)
    for problem in the_store.problems:
        click.echo(f"warning: unreadable part file skipped: {problem.path} ({problem.reason})", err=True)
