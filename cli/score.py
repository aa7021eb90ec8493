"""``naswot-ray score-all``: score every (or a chosen set of) architecture(s) of a space on Ray."""

from __future__ import annotations

import click

from naswot_ray.cli.jobfile import config_option
from naswot_ray.cli.plugins import plugin_option
from naswot_ray.data.sources import BatchSpec
from naswot_ray.cli.types import (BATCH_SIZE, CLASSES, COUNT, GPUS, INPUT_DIR, INPUT_FILE, NON_NEGATIVE, POSITIVE, SEED, STORE,
                                  WORKERS, Choice)
from naswot_ray.errors import InputError
from naswot_ray.engine.job import BN_MODES, ScoreJob, parse_index_list
from naswot_ray.metrics import metric_groups, parse_metric_list
from naswot_ray.options import parse_assignments
from naswot_ray.spaces import SearchSpace, get_space, space_names
from naswot_ray.store import DEFAULT_STORE


@click.command("score-all")
@config_option
@click.option("--space", default="nb201", show_default=True, help="Search space (see `naswot-ray spaces`).")
@click.option("--metrics", "metrics_text", default="naswot", show_default=True,
              help="Comma-separated metrics (see `naswot-ray metrics`), e.g. naswot,params.")
@click.option("--dataset", default="cifar10", show_default=True,
              help="Mini-batch source: cifar10, cifar100, imagenet16-120, random or npz:PATH.")
@click.option("--data-root", default=None, type=INPUT_DIR, help="Directory holding the dataset files (default ~/.cache/naswot-ray/data).")
@click.option("--norm", default=None, help="Normalisation statistics (cifar10, cifar100, imagenet16-120, imagenet); "
              "default: the dataset's own, cifar10 for npz.")
@click.option("--batch-size", default=128, show_default=True, type=BATCH_SIZE)
@click.option("--seed", default=1, show_default=True, type=SEED, help="Run seed: batch draw, --limit sample, init seeds.")
@click.option("--mode", default=None, help="Metric mode, e.g. naswot reference|clean (default: each metric's default).")
@click.option("--limit", default=None, type=COUNT, help="Score a seeded uniform sample of N architectures.")
@click.option("--indices", "indices_text", default=None, help="Score exactly these indices, e.g. 1,5,9 or 0-99.")
@click.option("--store", default=DEFAULT_STORE, show_default=True, type=STORE, help="Store directory or URI (s3://...).")
@click.option("--address", default=None, help="Ray cluster address (e.g. auto); default: start a local Ray.")
@click.option("--num-workers", default=None, type=WORKERS, help="Scorer actors (default: one per GPU, else one per CPU).")
@click.option("--gpus-per-worker", default=None, type=GPUS, help="GPUs per scorer actor; fractions share a GPU.")
@click.option("--num-classes", default=None, type=CLASSES, help="Network head size (default: the dataset's class count).")
@click.option("--bn-mode", default="train", show_default=True, type=Choice(BN_MODES), help="BatchNorm during scoring: train (batch stats) or eval.")
@click.option("--device", default=None, help="Force a device (cpu, cuda); default: cuda when the worker has a GPU.")
@click.option("--chunk-size", default=None, type=COUNT, help="Architectures per lease (default: automatic).")
@click.option("--channels-last/--no-channels-last", default=None, help="NHWC memory format (default: on for CPU workers, ~1.5x faster; values differ from NCHW "
              "only by float summation order).")
@click.option("--retry-errors", is_flag=True, help="Rescore keys stored with status=error.")
@click.option("--dedupe", is_flag=True,
              help="Score one architecture per isomorphism class (NB201: 6,466 of 15,625) and copy its rows to "
                   "the others, marked with shared_from.")
@click.option("--arch-timeout", default=None, type=POSITIVE,
              help="Seconds allowed per architecture; slower ones become error rows and the run goes on.")
@click.option("--space-option", "space_option_items", multiple=True, metavar="KEY=VALUE",
              help="A space option (see `naswot-ray spaces --details SPACE`), e.g. stem_channels=16; repeatable.")
@click.option("--metric-option", "metric_option_items", multiple=True, metavar="METRIC.KEY=VALUE",
              help="A metric option (see `naswot-ray metrics`), e.g. swap.repeats=8; repeatable.")
@click.option("--nb101-stem", default=None, help="Alias of --space-option stem_channels=N (nb101).")
@click.option("--nb201-model", default=None, help="Alias of --space-option model=nb201|samsung (nb201).")
@click.option("--nds-data", default=None, type=INPUT_FILE, help="Alias of --space-option data_file=PATH (nds_*).")
@click.option("--nds-compat", default=None, help="Alias of --space-option compat=nds|naswot (nds_*).")
@click.option("--max-start-failures", default=3, show_default=True, type=COUNT,
              help="Retire a scorer slot whose scorer fails to start this many times in a row (its own error is "
                   "reported; the run stops with exit 1 when no scorer can work).")
@click.option("--max-device-errors", default=3, show_default=True, type=COUNT,
              help="Retire a scorer after this many device (e.g. CUDA) errors in a row; its work goes to others.")
@click.option("--wait-for-resources", default=600.0, show_default=True, type=NON_NEGATIVE,
              help="With --address: seconds to wait for resources (e.g. GPU nodes an autoscaler adds) before "
                   "failing when no scorer could start.")
@click.option("--flush-rows", default=2000, show_default=True, type=COUNT, hidden=True,
              help="Write a part file every N rows (smaller = less lost on a crash, more files).")
@click.option("--flush-seconds", default=60.0, show_default=True, type=POSITIVE, hidden=True,
              help="Write a part file at least this often.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--no-dashboard", is_flag=True, help="Start the local Ray without its dashboard.")
@plugin_option
def score_all_command(space: str, metrics_text: str, dataset: str, data_root: str | None, norm: str | None,
                      batch_size: int, seed: int, mode: str | None, limit: int | None, indices_text: str | None,
                      store: str, address: str | None, num_workers: int | None, gpus_per_worker: float | None,
                      num_classes: int | None, bn_mode: str, device: str | None, chunk_size: int | None,
                      channels_last: bool | None, retry_errors: bool, dedupe: bool, arch_timeout: float | None,
                      space_option_items: tuple[str, ...], metric_option_items: tuple[str, ...], nb101_stem: str | None,
                      nb201_model: str | None, nds_data: str | None, nds_compat: str | None, flush_rows: int, flush_seconds: float,
                      no_progress: bool, no_dashboard: bool, max_start_failures: int, max_device_errors: int,
                      wait_for_resources: float, plugin_modules: tuple[str, ...]) -> None:
    """Score architectures of a space and store one row per (architecture, metric).

    Rerunning the same command resumes: keys already in the store are skipped.
    """
    from naswot_ray.api.runs import check_shippable
    from naswot_ray.engine.driver import run_score_all  # imports Ray: only when actually scoring

    aliases = {"stem_channels": nb101_stem, "model": nb201_model, "data_file": nds_data, "compat": nds_compat}
    space_options = space_options_from(get_space(space), space_option_items, aliases)
    space_obj = get_space(space).with_options(**space_options)
    job = ScoreJob(
        space=space_obj.name,
        metrics=parse_metric_list(metrics_text),
        batch=BatchSpec(dataset=dataset, batch_size=batch_size, seed=seed, data_root=data_root, norm=norm,
                        image_size=space_obj.input_size, num_classes=num_classes or 10),
        store=store, mode=mode, space_options=space_options, metric_options=metric_options_from(metric_option_items),
        space_object=space_obj,
        seed=seed, bn_mode=bn_mode, num_classes=num_classes, limit=limit,
        indices=parse_index_list(indices_text) if indices_text is not None else None,
        address=address, num_workers=num_workers, gpus_per_worker=gpus_per_worker, chunk_size=chunk_size,
        device=device, channels_last=channels_last, retry_errors=retry_errors, dedupe=dedupe, arch_timeout=arch_timeout,
        progress=not no_progress,
        dashboard=not no_dashboard, flush_rows=flush_rows, flush_seconds=flush_seconds,
        max_start_failures=max_start_failures, max_device_errors=max_device_errors,
        wait_for_resources=wait_for_resources, plugins=list(plugin_modules),
    )
    job.validate()
    check_shippable(space_obj)
    space_size = job.resolved_space().size
    if limit is not None and space_size is not None and limit > space_size:
        click.echo(f"note: --limit {limit:,} is more than space {job.space!r} holds; scoring all "
                   f"{space_size:,} of its architectures", err=True)
    summary = run_score_all(job)
    for line in summary.lines():
        click.echo(line)
    click.echo(f"store: {store}")


#: the old per-space flags, kept as aliases of --space-option
OPTION_FLAGS = {"stem_channels": "--nb101-stem", "model": "--nb201-model", "data_file": "--nds-data",
                "compat": "--nds-compat"}


def space_options_from(space: SearchSpace, items: tuple[str, ...] | list[str], aliases: dict | None = None) -> dict:
    """``--space-option KEY=VALUE`` items (and the old alias flags) as a dict of raw values.

    An alias flag the chosen space does not have names the flag and the spaces that have it; a key
    given twice with different values is an error; the space itself checks keys and values.
    """
    options: dict[str, object] = {}
    for option, value in (aliases or {}).items():
        if value is None:
            continue
        if option not in space.option_names:
            having = [n for n in space_names() if option in get_space(n).option_names]
            raise InputError(f"{OPTION_FLAGS[option]} does not apply to space {space.name!r}; it applies to: "
                             f"{', '.join(having[:6])}{', ...' if len(having) > 6 else ''}")
        options[option] = value
    for key, value in parse_assignments(items, flag="--space-option"):
        if key in options and str(options[key]) != value:
            raise InputError(f"space option {key!r} given twice with different values ({options[key]!r}, {value!r})")
        options[key] = value
    return options


def metric_options_from(items: tuple[str, ...] | list[str]) -> dict[str, dict]:
    """``--metric-option METRIC.KEY=VALUE`` items as {metric: {key: raw value}} (checked by the job).

    A group name (``az_nas.batch_size=8``) sets the option on every member, which keeps the members
    on one shared pass (members with different options cannot share it).
    """
    groups = metric_groups()
    out: dict[str, dict] = {}
    for target, value in parse_assignments(items, flag="--metric-option"):
        metric, dot, key = target.partition(".")
        if not dot or not metric or not key:
            raise InputError(f"malformed --metric-option {target + '=' + value!r}; expected METRIC.KEY=VALUE, e.g. swap.repeats=8")
        for member in groups.get(metric, [metric]):
            out.setdefault(member, {})[key] = value
    return out
