"""``nr.score_space``: ``score-all`` from Python, through the same engine and into the same rows.

``space`` may be a registered name (built in or from a plugin) or a :class:`SearchSpace` object defined in
your own script or notebook. The object travels with the job to every Ray worker (Ray pickles it with
cloudpickle, which sends classes defined in ``__main__`` by value), so a worker never looks it up by name;
an object that cannot be pickled is refused up front with one line, before anything is written.

Every run records its configuration in the store's ``runs`` table, so ``naswot-ray rerun RUN_ID`` can
replay it. A space object whose class is not the registered space of that name can only be rebuilt by
the script that defined it: such a run is recorded with the command ``nr.score_space:unregistered:<class>``,
and ``rerun`` says so instead of scoring something else under the same name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields

from naswot_ray.errors import InputError
from naswot_ray.spaces.base import SearchSpace
from naswot_ray.store import DEFAULT_STORE

#: the ``runs.command`` of a run scored from Python, and its prefix for spaces only a script can rebuild
COMMAND = "nr.score_space"
UNREGISTERED = COMMAND + ":unregistered:"

#: ScoreJob fields set from score_space's own arguments (the rest may be given as keywords)
_OWN = {"space", "metrics", "batch", "store", "mode", "space_options", "metric_options", "seed", "limit", "indices",
        "address", "num_workers", "device", "progress", "plugins", "space_object", "num_classes"}


def score_space(space: str | SearchSpace, *, metrics: Iterable[str] | str = ("naswot",), limit: int | None = None,
                indices: Iterable[int] | None = None, store: str = DEFAULT_STORE, address: str | None = None,
                dataset: str = "cifar10", data_root: str | None = None, norm: str | None = None,
                batch_size: int = 128, seed: int = 1, mode: str | None = None, num_classes: int | None = None,
                space_options: Mapping[str, object] | None = None,
                metric_options: Mapping[str, Mapping[str, object]] | None = None, plugins: Iterable[str] = (),
                num_workers: int | None = None, device: str | None = None, progress: bool = False,
                **engine: object):
    """Score architectures of ``space`` on Ray and store one row per (architecture, metric); returns the run
    summary (``.scored``, ``.skipped``, ``.failed``, ``.run_id``, ``.lines()``).

    Arguments mean what the ``score-all`` flags of the same names mean (``naswot-ray score-all --help``);
    ``dataset="random"`` needs no download. Any other ``score-all`` setting is a keyword named like its
    flag (``chunk_size=4``, ``dedupe=True``, ``channels_last=False``, ``bn_mode="eval"``, ...). Rerunning with
    the same store resumes. ``plugins`` are modules imported first, here and on every worker.
    Bad input raises a one-line :class:`InputError` before anything is written.
    """
    from naswot_ray import plugins as plugin_loader
    from naswot_ray.data.sources import BatchSpec
    from naswot_ray.engine.driver import run_score_all
    from naswot_ray.engine.job import ScoreJob, parse_index_list
    from naswot_ray.metrics import parse_metric_list

    allowed = sorted(f.name for f in fields(ScoreJob) if f.name not in _OWN)
    unknown = sorted(set(engine) - set(allowed))
    if unknown:
        raise InputError(f"score_space() has no setting {unknown[0]!r}; valid keywords: {', '.join(allowed)}")
    plugin_list = list(plugins)
    plugin_loader.load(plugin_list)
    space_obj, options, command = _resolve(space, dict(space_options or {}))
    if indices is not None and not isinstance(indices, str):
        indices = [int(i) for i in indices]
    job = ScoreJob(
        space=space_obj.name, metrics=parse_metric_list(metrics if isinstance(metrics, str) else ",".join(metrics)),
        batch=BatchSpec(dataset=dataset, batch_size=batch_size, seed=seed, data_root=data_root, norm=norm,
                        image_size=space_obj.input_size, num_classes=num_classes or 10),
        store=str(store), mode=mode, space_options=options,
        metric_options={name: dict(values) for name, values in (metric_options or {}).items()},
        seed=seed, num_classes=num_classes, limit=limit,
        indices=parse_index_list(indices) if isinstance(indices, str) else indices,
        address=address, num_workers=num_workers, device=device, progress=progress, plugins=plugin_list,
        space_object=space_obj, **engine)  # type: ignore[arg-type]
    job.validate()
    check_shippable(space_obj)
    check_workers_find_metrics(job.metrics, plugin_list)
    return run_score_all(job, command=command)


def check_workers_find_metrics(metrics: Iterable[str], plugin_modules: Iterable[str]) -> None:
    """Ray workers look metrics up by name, so each must be registered where they look too: built in, by an
    installed entry point, or by one of the job's plugin modules. A metric registered by the calling script
    (or by a module the job does not list) is a one-line InputError here, not a scorer that cannot start."""
    from naswot_ray.metrics import METRICS
    from naswot_ray.registry import BUILT_IN

    listed = list(plugin_modules)
    for name in metrics:
        origin = METRICS.origin(name)
        module = origin.split(" ")[-1]
        if origin == BUILT_IN or origin.startswith("entry point") or any(
                module == m or module.startswith(m + ".") for m in listed):
            continue
        fix = (f"pass plugins=[{module!r}]" if module != "__main__"
               else "move it into a module and pass plugins=['that_module']")
        raise InputError(f"metric {name!r} is registered by {origin}, which the Ray workers do not import; {fix} "
                         "(or install it with an entry point; nr.score needs neither)")


def check_shippable(space: SearchSpace) -> None:
    """Raise a one-line InputError when ``space`` cannot be pickled to the Ray workers (checked by the driver,
    before the run writes anything, with the same pickler Ray uses)."""
    from ray import cloudpickle  # the engine's dependency; imported only when a run is about to start

    try:
        cloudpickle.dumps(space)
    except Exception as exc:  # noqa: BLE001 - whatever the pickler trips on, the user gets one line
        text = str(exc).strip().splitlines()
        raise InputError(f"space {space.name!r} ({type(space).__qualname__}) cannot be sent to the Ray workers: it "
                         f"does not pickle ({type(exc).__name__}: {text[0] if text else ''}); keep open files, locks "
                         "and connections out of the space object, or create them lazily on first use") from None


def _resolve(space: str | SearchSpace, options: dict) -> tuple[SearchSpace, dict, str]:
    """(configured space, the options that rebuild it from the registry, the ``runs.command`` to record)."""
    from naswot_ray.spaces import SPACES, get_space

    if isinstance(space, str):
        return get_space(space).with_options(**options), options, COMMAND
    if not isinstance(space, SearchSpace):
        raise InputError(f"space must be a registered name or a SearchSpace object, got {type(space).__name__}")
    if not space.name:
        raise InputError(f"space object {type(space).__qualname__} has no name; set the class attribute name")
    configured = space.with_options(**options) if options else space
    rebuild = {o.name: v for o, v in zip(configured.options, configured.option_values().values()) if v != o.default}
    if configured.name in SPACES.registered() and type(SPACES.instance(configured.name)) is type(configured):
        return configured, rebuild, COMMAND
    cls = type(configured)
    return configured, rebuild, f"{UNREGISTERED}{cls.__module__}.{cls.__qualname__}"


__all__ = ["COMMAND", "UNREGISTERED", "check_shippable", "check_workers_find_metrics", "score_space"]
