"""``naswot-ray search``: many independent runs of a search algorithm, summarised like the paper's Table 2."""

from __future__ import annotations

from pathlib import Path

import click

from naswot_ray.cli.types import BATCH_SIZE, CLASSES, COUNT, EPOCHS, GPUS, INPUT_DIR, OUTPUT_FILE, POSITIVE, SEED, STORE, WORKERS
from naswot_ray.errors import InputError
from naswot_ray.store import DEFAULT_STORE


def _int_list(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise InputError(f"malformed --n list {text!r}; expected comma-separated integers, e.g. 10,100,1000") from None
    return values


def _params(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"malformed --param {pair!r}; expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


class _SearchCommand(click.Command):
    """Lists the registered algorithms under --help, so a newly registered one shows up by itself."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from naswot_ray.search import algorithm_names, get_algorithm

        with formatter.section("Algorithms"):
            formatter.write_dl([(name, get_algorithm(name).description) for name in algorithm_names()])
        super().format_epilog(ctx, formatter)


@click.command("search", cls=_SearchCommand)
@click.argument("algorithm")
@click.option("--space", default="nb201", show_default=True, help="Search space (see `naswot-ray spaces`).")
@click.option("--n", "n_text", default=None, metavar="N[,N...]",
              help="naswot: architectures scored per run (default 10,100,1000); random: queries per run.")
@click.option("--runs", default=None, type=COUNT, help="Independent runs per setting (default: 500 naswot/random, 50 rea/area).")
@click.option("--scores-from-store", "score_source", flag_value="store", default=None,
              help="Use scores already in the store (default for naswot/area).")
@click.option("--live", "score_source", flag_value="live",
              help="Score drawn architectures now on the engine's scorer actors (rows are added to the store).")
@click.option("--within-scored", is_flag=True,
              help="Draw scored candidates only from architectures with a stored score (not the paper's protocol).")
@click.option("--budget-queries", default=None, type=POSITIVE, metavar="Q", help="Budget: Q trained-accuracy queries.")
@click.option("--budget-seconds", default=None, type=POSITIVE, metavar="S",
              help="Budget: S simulated seconds (benchmark training times; AREA also pays its scoring time).")
@click.option("--population", default=None, type=COUNT, help="REA/AREA population P (default 10).")
@click.option("--sample-size", default=None, type=COUNT, help="REA/AREA tournament size S, drawn with replacement (default 3).")
@click.option("--candidates", default=None, type=COUNT, help="AREA: candidates M scored before evolution (default 20).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Algorithm-specific option (repeatable).")
@click.option("--fitness", default=None, metavar="DATASET:SPLIT:EPOCHS",
              help="Accuracy the search optimises (default cifar10-valid:x-valid:12 where imported, else :200).")
@click.option("--report-epochs", default=None, type=EPOCHS,
              help="Training budget of the reported accuracies (default: the largest imported, 200 on NB201).")
@click.option("--seed", default=1, show_default=True, type=SEED, help="Search seed; run r's seed derives from (seed, r).")
@click.option("--metric", default="naswot", show_default=True,
              help="Score used by naswot/area: a stored metric, or an ensemble of stored metrics as analyze names them "
                   "(ensemble:az_nas, ensemble:vkdnw_agg, ensemble:logrank:<m1>+<m2>, ...), ranked among each run's "
                   "scored candidates.")
@click.option("--mode", default=None, help="Metric mode of the score (stored: filter; live: as score-all --mode).")
@click.option("--score-seed", default=None, type=SEED,
              help="Seed of the score (stored: filter by the score-all --seed; live: batch/init seed, default 1).")
@click.option("--batch", default=None, metavar="SHA256_PREFIX", help="Stored: pick the score variant of this batch.")
@click.option("--num-classes", default=None, type=CLASSES,
              help="Stored: pick the score variant (and an ensemble's members) with this head size, e.g. 100 for "
                   "CIFAR-100's head.")
@click.option("--dataset", default="cifar10", show_default=True, help="Live: mini-batch source (as score-all).")
@click.option("--data-root", default=None, type=INPUT_DIR, help="Live: directory holding the dataset files.")
@click.option("--norm", default=None, help="Live: normalisation statistics.")
@click.option("--batch-size", default=128, show_default=True, type=BATCH_SIZE, help="Live: images in the scoring batch.")
@click.option("--num-workers", default=None, type=WORKERS, help="Live: scorer actors (default one per CPU or GPU).")
@click.option("--gpus-per-worker", default=None, type=GPUS, help="Live: GPUs per scorer actor.")
@click.option("--device", default=None, help="Live: force a device (cpu, cuda).")
@click.option("--address", default=None, help="Ray cluster address (e.g. auto); default: a local Ray when Ray is used.")
@click.option("--executor", default="auto", show_default=True,
              help="auto, local (runs in this process) or ray (runs as Ray tasks). auto: Ray for --live, --address "
                   "or 5,000+ runs.")
@click.option("--store", default=DEFAULT_STORE, show_default=True, type=STORE, help="Store directory or URI.")
@click.option("--output", default=None, type=OUTPUT_FILE, help="Write the summary as CSV here.")
@click.option("--no-write", is_flag=True, help="Do not add the runs to the store's searches table.")
def search_command(algorithm: str, space: str, n_text: str | None, runs: int | None, score_source: str | None,
                   within_scored: bool, budget_queries: float | None, budget_seconds: float | None,
                   population: int | None, sample_size: int | None, candidates: int | None, params: tuple[str, ...],
                   fitness: str | None, report_epochs: int | None, seed: int, metric: str, mode: str | None,
                   score_seed: int | None, batch: str | None, num_classes: int | None, dataset: str,
                   data_root: str | None, norm: str | None,
                   batch_size: int, num_workers: int | None, gpus_per_worker: float | None, device: str | None,
                   address: str | None, executor: str, store: str, output: str | None, no_write: bool) -> None:
    """Run the search ALGORITHM (listed below) many times and summarise the runs.

    \b
    Examples:
      naswot-ray search naswot --n 10,100,1000 --runs 500 --scores-from-store --store ./naswot-store
      naswot-ray search rea --budget-queries 100 --runs 50
      naswot-ray search area --budget-seconds 12000 --runs 50   (needs training times in the table)

    Each run is a pure function of its seed; results go to the store's `searches` table (one row per run)
    and the summary shows mean ± sample std of the chosen architectures' accuracies per column and the
    median simulated search time.
    """
    from naswot_ray.engine.search_runner import run_search
    from naswot_ray.search import Budget, SearchOptions
    from naswot_ray.search.job import SearchJob
    from naswot_ray.search.summary import SUMMARY_COLUMNS, format_summary

    from naswot_ray.data.sources import check_data_root

    check_data_root(data_root)  # read only with --live, but a wrong one is a mistake either way
    if budget_queries is not None and budget_seconds is not None:
        raise InputError("--budget-queries and --budget-seconds cannot be combined; pick one")
    budget = (Budget("queries", budget_queries) if budget_queries is not None
              else Budget("seconds", budget_seconds) if budget_seconds is not None else None)
    options = SearchOptions(n=_int_list(n_text), budget=budget, population=population, sample_size=sample_size,
                            candidates=candidates, extra=_params(params))
    job = SearchJob(algorithm=algorithm, space=space, store=store, options=options, runs=runs, seed=seed,
                    score_source=score_source, within_scored=within_scored, fitness=fitness,
                    report_epochs=report_epochs, metric=metric, mode=mode, score_seed=score_seed, batch=batch,
                    num_classes=num_classes,
                    dataset=dataset, data_root=data_root, norm=norm, batch_size=batch_size, num_workers=num_workers,
                    gpus_per_worker=gpus_per_worker, device=device, address=address, executor=executor,
                    write=not no_write)
    outcome = run_search(job)
    prepared = outcome.prepared
    click.echo(format_summary(outcome.summary))
    click.echo("")
    click.echo(f"{len(outcome.rows)} runs of {prepared.algorithm.name} on {prepared.problem.space.name} "
               f"({outcome.executor}, {outcome.wall_seconds:.1f} s); scores: {prepared.score_source}; "
               f"fitness: {prepared.problem.oracle.fitness_label}")
    click.echo("mean ± sample std (ddof=1) over runs; search s = median simulated seconds per run")
    for note in prepared.notes:
        click.echo(f"note: {note}")
    if prepared.missing_paper_columns:
        click.echo("note: not in the accuracies table, so not reported: " + ", ".join(prepared.missing_paper_columns))
    if outcome.scores_written:
        click.echo(f"{outcome.scores_written} live scores added to the store's scores table")
    if not no_write:
        click.echo(f"search {outcome.run_id}: {len(outcome.rows)} rows in the searches table of {store}")
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        outcome.summary[SUMMARY_COLUMNS].to_csv(output, index=False)
        click.echo(f"summary written to {output}")
