"""Replay a stored run: ``naswot-ray rerun RUN_ID`` and ``nr.rerun(...)``.

Every run writes its whole configuration (``ScoreJob.config()``, JSON) into the store's ``runs`` table, so
a run is reproduced by rebuilding that job and running it again: into the same store it resumes (every key
already there is skipped, so a complete run has nothing to do), into an empty store it recomputes the same
values under the same keys. Spaces and metrics are found by name, plugin modules are imported again from
the configuration's ``plugins`` and installed plugins through their entry points. Only where the job
was run decides (``--address``, ``--num-workers``, progress display): those may be changed.

What cannot be replayed says so in one line: a run of a space object defined in a script (only that
script can rebuild it), a configuration with settings this version does not know, and a configuration
that no longer rebuilds the same space (an option whose environment-variable default differs here).
"""

from __future__ import annotations

import json
from dataclasses import fields

from naswot_ray.errors import InputError
from naswot_ray.store import Store, query_arrow

#: the run id that names the store's newest scoring run (``naswot-ray rerun latest``)
LATEST = "latest"


def stored_run(store: Store, run_id: str) -> dict:
    """The latest ``runs`` row of ``run_id`` (or, for ``latest``, of the newest score-all or rerun run);
    one-line InputError when the store or the run is missing."""
    if not store.exists():
        raise InputError(f"store {store.root!r} does not exist")
    con = store.connect(tables=("runs",))
    if run_id == LATEST:
        newest = con.execute("SELECT run_id FROM runs WHERE command LIKE 'score-all%' OR command LIKE 'rerun%' "
                             "ORDER BY started_at DESC, run_id DESC LIMIT 1").fetchall()
        if not newest:
            raise InputError(f"store {store.root!r} holds no score-all run to replay")
        run_id = newest[0][0]
    rows = query_arrow(con, "SELECT * FROM runs WHERE run_id = ?", [run_id]).to_pylist()
    if not rows:
        recent = [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 5").fetchall()]
        raise InputError(f"no run {run_id!r} in store {store.root!r}; latest runs: {', '.join(recent) or 'none'}")
    return rows[0]


def job_for_run(store: Store, run_id: str):
    """The :class:`ScoreJob` that run ``run_id`` of ``store`` executed, rebuilt from its stored configuration."""
    from naswot_ray.api.runs import UNREGISTERED
    from naswot_ray.data.sources import BatchSpec
    from naswot_ray.engine.job import ScoreJob

    run = stored_run(store, run_id)
    config = json.loads(run["config"])
    command = run["command"] or ""
    if command.startswith(UNREGISTERED):
        raise InputError(f"run {run_id} scored space {config.get('space')!r}, an object of class "
                         f"{command[len(UNREGISTERED):]} defined in a script, which cannot be replayed without that "
                         "script: run the script again (it resumes in the same store), or register the space in a "
                         "plugin (README: 'Your own space or metric')")
    known = {f.name for f in fields(ScoreJob)} - {"space_object"}
    unknown = sorted(set(config) - known)
    if unknown:
        raise InputError(f"run {run_id} was configured with settings this version does not know ({', '.join(unknown)}); "
                         "replay it with the naswot-ray version that wrote it")
    batch_known = {f.name for f in fields(BatchSpec)}
    batch = config.pop("batch")
    if set(batch) - batch_known:
        raise InputError(f"run {run_id}'s batch has settings this version does not know "
                         f"({', '.join(sorted(set(batch) - batch_known))})")
    return ScoreJob(batch=BatchSpec(**batch), **config)


def check_same_space(store: Store, run_id: str, job) -> None:
    """The rebuilt space must be configured as the run's stored rows say (their ``space_options`` key)."""
    con = store.connect(tables=("scores",))
    stored = {r[0] for r in con.execute("SELECT DISTINCT space_options FROM scores WHERE run_id = ?", [run_id]).fetchall()}
    here = job.resolved_space().options_key()
    if stored and here not in stored:
        raise InputError(f"run {run_id} scored space {job.space!r} with options {sorted(stored)[0]!r}, but its configuration "
                         f"rebuilds {here!r} here (an option whose default comes from an environment variable differs?); "
                         "set that option explicitly with --space-option in a new score-all run")


def rerun(run_id: str, *, store: str, into: str | None = None, address: str | None = None,
          num_workers: int | None = None, progress: bool = False, dashboard: bool = True):
    """Run ``run_id`` of ``store`` again, into ``into`` (default: the same store, where it resumes); returns
    the run summary. Bad input (an unknown run, a script-defined space) is a one-line InputError."""
    from naswot_ray.api.runs import check_shippable
    from naswot_ray.engine.driver import run_score_all

    if into is not None:
        Store(str(into))  # a target path that is a file is one line before anything is read
    source = Store(str(store))
    run_id = stored_run(source, run_id)["run_id"]  # ``latest`` -> the id it names
    job = job_for_run(source, run_id)
    job.store, job.address, job.progress, job.dashboard = str(into or store), address, progress, dashboard
    if num_workers is not None:
        job.num_workers = num_workers
    job.validate()
    check_same_space(source, run_id, job)
    check_shippable(job.resolved_space())
    return run_score_all(job, command=f"rerun {run_id}")


__all__ = ["check_same_space", "job_for_run", "rerun", "stored_run"]
