"""The bad-input harness: every option of every command, fed values outside its domain, plus issue 15's cases.

For every case: exit code 2 where changing the command line fixes it, 1 where the environment must change
(a read-only store, an unreachable cluster); at most one line on stderr, naming the parameter or the value;
no traceback; and the working folder (which holds the store) byte-identical before and after.

How it covers new options by construction: :func:`tests.cli.badinput.walk` visits every parameter of
``naswot_ray.cli.main.app``; :func:`tests.cli.badinput.bad_values` derives the bad values from the
parameter's type (shared types in ``naswot_ray.cli.types`` declare their domains) and refuses a type it
does not know. A new command needs a valid base command line in :data:`BASES` (a test says so).

Cases that are known to fail because another engineer owns the fix are ``xfail(strict=True)`` naming the
owner, so they turn into failures (to be unmarked) the moment the fix lands.

Everything runs in this process (click's runner through the real entry point) except :data:`PROCESS_CASES`:
hangs and Ray, which need a real process and a time bound.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
import pytest

from naswot_ray.cli.main import app
from naswot_ray.cli.types import SHARED_TYPES
from tests.cli.badinput import (A_DIRECTORY, A_FILE, MISSING, PATH_PHRASES, Base, ProcessCase, Site, UnknownType, bad_values,
                                changes, commands, judge, open_folder, read_only, run_case, run_process_case, snapshot,
                                takes_no_value, walk)

STORE = "naswot-store"
NB201_CELLS = (0, 1, 2, 3, 4, 5)

NDS_RUN = ("--space", "nds_darts", "--metrics", "params", "--dataset", "random", "--batch-size", "2", "--limit", "2")
#: a valid command line per command; a generated case replaces one parameter of it with a bad value
BASES: dict[tuple[str, ...], Base] = {
    (): Base(),
    ("score-all",): Base(options=("--space", "nb201", "--metrics", "params", "--dataset", "random", "--batch-size", "2",
                                  "--indices", "0", "--no-progress", "--no-dashboard", "--num-workers", "1"),
                         settings={"--nds-data": NDS_RUN, "--nds-compat": NDS_RUN,
                                   "--nb101-stem": ("--space", "nb101", "--dataset", "random", "--indices", "0")}),
    ("export",): Base(options=("--store", STORE, "--space", "nb201", "--format", "csv", "--output", "export.csv")),
    ("spaces",): Base(),
    ("spaces", "build"): Base(arguments={"name": "nb101"}, options=("--workers", "1")),
    ("metrics",): Base(),
    ("import-benchmark",): Base(arguments={"kind": "nb201"},
                                options=("--source", "acc.csv", "--format", "csv", "--column", "acc=cifar10:ori-test:200")),
    ("analyze",): Base(options=("--no-plots",)),
    ("rerun",): Base(arguments={"run_id": "latest"}, options=("--store", STORE)),
    ("store",): Base(),
    ("store", "verify"): Base(options=("--store", STORE)),
    ("store", "compact"): Base(options=("--store", STORE)),
    ("search",): Base(arguments={"algorithm": "random"},
                      options=("--runs", "2", "--n", "3", "--executor", "local", "--no-write")),
}

SITES = list(walk(app))
VALUED = [site for site in SITES if not takes_no_value(site.param)]


#: generated cases known to fail, and the branch that owns the fix: (parameter label, value) -> owner
KNOWN_FAILURES: dict[tuple[str, str], str] = {
}


def _generated() -> list:
    params = []
    for site in VALUED:
        try:
            values = bad_values(site.param)
        except UnknownType:
            continue  # test_every_parameter_has_a_known_type names it
        for value in values:
            owner = KNOWN_FAILURES.get((site.label, value))
            marks = [pytest.mark.xfail(strict=True, reason=f"owned by branch {owner!r}")] if owner else []
            params.append(pytest.param(site, value, id=f"{site.label}={value!r}", marks=marks))
    return params


# -- the working folder: a tiny store and the files path cases need ---------------------------------

@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """A folder any user may enter (read-only cases run unprivileged when the tests run as root)."""
    root = open_folder("naswot-bad-input-")
    _fill(root)
    yield root
    _make_writable(root)
    shutil.rmtree(root, ignore_errors=True)


def _fill(root: Path) -> None:
    from naswot_ray.accuracies.schema import ACCURACIES, AccuracyColumn, AccuracyRows
    from naswot_ray.spaces import get_space
    from naswot_ray.store import Store
    from tests.analysis.score_rows import write_scores

    space = get_space("nb201")
    archs = [space.arch(i) for i in NB201_CELLS]
    store = Store(str(root / STORE))
    write_scores(store, space="nb201", indices=list(NB201_CELLS), archs=archs,
                 values=[1500.0 + 7.5 * i for i in NB201_CELLS])
    # every cell has an accuracy (a search draws from the whole space); the values are arbitrary but fixed
    rows = AccuracyRows("nb201", "bad-input harness", "harness")
    for column in (AccuracyColumn("cifar10", "ori-test", 200), AccuracyColumn("cifar10-valid", "x-valid", 200)):
        for i in range(space.size):
            rows.add(arch_index=i, arch=space.arch(i), column=column, accuracy=50.0 + (i * 7919 % 4000) / 100)
    store.write(ACCURACIES, rows.table())
    (root / "acc.csv").write_text("arch_str,acc\n" + "".join(f"{a},{85 + i}\n" for i, a in zip(NB201_CELLS, archs)))
    (root / A_DIRECTORY).mkdir()
    (root / A_FILE).write_text("not what any option wants\n")
    (root / "not-an-nds-file.json").write_text("[1, 2, 3]\n")
    images = np.zeros((40, 32, 32, 3), np.uint8)
    np.savez(root / "labels-to-12.npz", x=images, y=np.arange(40) % 13)
    np.savez(root / "fewer-labels.npz", x=images, y=np.arange(39) % 10)
    (root / "read-only").mkdir()
    _stored_run(root / "stored-store")


#: a score-all command whose every key the fixture stores beforehand (a rerun has nothing to score)
STORED_RUN = ("score-all", "--store", "stored-store", "--space", "nb201", "--metrics", "params", "--dataset", "random",
              "--batch-size", "2", "--indices", "0,1", "--no-progress", "--no-dashboard")


def _stored_run(store_root: Path) -> None:
    """Store every key :data:`STORED_RUN` asks for, through the engine's own row builder (no Ray needed)."""
    from naswot_ray.data.sources import draw_batch
    from naswot_ray.engine.driver import resolve_device
    from naswot_ray.engine.job import device_class
    from naswot_ray.engine.worker import score_row
    from naswot_ray.store import Store
    from tests.cluster.quoted_commands import dry_run_score_all

    argv = ("naswot-ray", *STORED_RUN)
    cwd = os.getcwd()
    os.chdir(store_root.parent)
    try:
        job = dry_run_score_all(argv)
    finally:
        os.chdir(cwd)
    job.store = str(store_root)
    batch = draw_batch(job.batch)
    device = resolve_device(job, None)
    space = job.resolved_space()
    rows = [score_row(job, space, batch, index=i, arch=space.arch(i), request=request, value=1.0e6, error=None,
                      seconds=0.0, worker="harness", run_id="harness", device=device,
                      device_class=device_class(device), memory_format=job.memory_format(device))
            for i in job.indices for request in job.metric_requests()]
    Store(str(store_root)).write("scores", rows)


def _make_writable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)


@pytest.fixture()
def guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused command line must never reach Ray or the scoring engine; if one does, say so instead of running."""
    import ray

    import naswot_ray.engine.driver as driver

    def reached(*_args, **_kwargs):
        raise AssertionError("bad input was accepted: the command reached the engine")

    monkeypatch.setattr(ray, "init", reached)
    monkeypatch.setattr(driver, "run_score_all", reached)


def _run(workdir: Path, argv: list[str], monkeypatch: pytest.MonkeyPatch, read_only_paths: tuple[str, ...] = ()):
    monkeypatch.chdir(workdir)
    before = snapshot(workdir)
    with read_only([workdir / p for p in read_only_paths]) if read_only_paths else contextlib.nullcontext():
        outcome = run_case(argv)
    return outcome, changes(before, snapshot(workdir))


# -- construction checks -------------------------------------------------------------------------------

def test_every_parameter_has_a_known_type() -> None:
    """A new option must use a shared type (whose domain the harness knows), or be a flag."""
    unknown = []
    for site in VALUED:
        try:
            bad_values(site.param)
        except UnknownType as exc:
            unknown.append(f"{site.label}: {exc}")
        if not isinstance(site.param.type, (*SHARED_TYPES, click.Choice)):
            unknown.append(f"{site.label}: type {site.param.type!r} is not one of naswot_ray.cli.types")
    assert not unknown, "\n".join(unknown)


def test_the_walk_covers_every_command_and_every_command_has_a_valid_base() -> None:
    from tests.cluster.quoted_commands import parse

    found = {path for path, _ in commands(app)}
    assert found == set(BASES), f"commands without a base line in BASES: {sorted(found - set(BASES))}"
    for path, base in BASES.items():
        if not path:
            continue  # naswot-ray alone prints its help (tests/cli/test_first_hour.py)
        parse(app, ("naswot-ray", *base.argv(path)), complete=False)  # raises if the base itself is refused
    assert len(VALUED) >= 80, f"the walk found only {len(VALUED)} valued parameters"
    labels = {site.label for site in SITES}
    assert {"score-all --seed", "analyze --digits", "spaces build NAME", "import-benchmark BENCHMARK"} <= labels


# -- generated cases: every valued parameter, every bad value of its type ------------------------------

@pytest.mark.usefixtures("guarded")
@pytest.mark.parametrize("site, value", _generated())
def test_bad_value_of_every_parameter_is_one_line_exit_2(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                                         site: Site, value: str) -> None:
    argv = BASES[site.path].argv(site.path, site, value)
    outcome, written = _run(workdir, argv, monkeypatch)
    judge(outcome, expect=2, argv=argv, names=site.names, value=value, written=written,
          fragment=PATH_PHRASES.get(value) if getattr(site.param.type, "role", None) else None)


# -- issue 15's cases and the semantic values a type cannot know ---------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    expect: int | tuple[int, ...] = 2
    #: text the error line must contain (one of them)
    fragment: str | tuple[str, ...] | None = None
    #: who owns the fix while the case is known to fail
    owner: str | None = None
    #: paths (relative to the working folder) made read-only for the case
    read_only: tuple[str, ...] = ()
    guard: bool = True
    #: files the command should write (an accepted command line); removed afterwards
    writes: tuple[str, ...] = ()


#: what an error about a store path that is a file must say (today's export says the store "does not exist")
IS_A_FILE = PATH_PHRASES[A_FILE]
SCORE = ("score-all", "--dataset", "random", "--batch-size", "2", "--indices", "0", "--no-progress", "--no-dashboard")
CASES = [
    # score-all: names the parser cannot judge
    Case("unknown space", (*SCORE, "--space", "nb999"), fragment="unknown space 'nb999'; valid choices:"),
    Case("unknown metric", (*SCORE, "--metrics", "naswot,nope"), fragment="unknown metric 'nope'"),
    Case("empty metric in list", (*SCORE, "--metrics", "naswot,,params")),
    Case("unknown dataset", ("score-all", "--dataset", "mnist", "--indices", "0"), fragment="unknown dataset 'mnist'"),
    Case("npz missing", ("score-all", "--dataset", "npz:missing.npz", "--indices", "0"), fragment="does not exist"),
    Case("npz is a directory", ("score-all", "--dataset", f"npz:{A_DIRECTORY}", "--indices", "0"),
         fragment="is a directory"),
    Case("npz is not an npz", ("score-all", "--dataset", f"npz:{A_FILE}", "--indices", "0"),
         fragment="is not an .npz archive"),
    Case("npz with fewer labels than images", ("score-all", "--dataset", "npz:fewer-labels.npz", "--batch-size", "4",
                                               "--metrics", "snip", "--indices", "0"),
         fragment="40 images under 'x' but 39 labels"),
    Case("labels beyond the head", ("score-all", "--dataset", "npz:labels-to-12.npz", "--batch-size", "4",
                                    "--metrics", "snip", "--indices", "0"),
         fragment="has labels 0..12 but the network head has 10 classes"),
    Case("labels beyond --num-classes", ("score-all", "--dataset", "cifar100", "--num-classes", "10", "--metrics",
                                         "grad_norm", "--indices", "0"), fragment="--num-classes 100"),
    Case("data root missing", ("score-all", "--dataset", "cifar10", "--data-root", MISSING, "--indices", "0"),
         fragment="does not exist"),
    Case("data root is a file", ("score-all", "--dataset", "cifar10", "--data-root", A_FILE, "--indices", "0")),
    Case("unknown norm", (*SCORE, "--norm", "nope")),
    Case("unknown mode", (*SCORE, "--mode", "fancy"), fragment="unknown mode 'fancy'"),
    Case("malformed indices", ("score-all", "--dataset", "random", "--indices", "1,x,3"), fragment="malformed index list"),
    Case("reversed range", ("score-all", "--dataset", "random", "--indices", "9-1")),
    Case("negative index", ("score-all", "--dataset", "random", "--indices", "-3")),
    Case("index beyond the space", ("score-all", "--dataset", "random", "--indices", "99999"),
         fragment="index 99999 is outside space 'nb201'"),
    Case("limit and indices", (*SCORE, "--limit", "5"), fragment="cannot be combined"),
    Case("unknown device", (*SCORE, "--device", "tpu"), fragment="unknown device 'tpu'"),
    Case("malformed cuda device", (*SCORE, "--device", "cuda:x")),
    Case("unknown space option", (*SCORE, "--space-option", "nope=1")),
    Case("space option without =", (*SCORE, "--space-option", "model")),
    Case("unknown metric option", (*SCORE, "--metrics", "naswot", "--metric-option", "naswot.nope=1")),
    Case("metric option of an unrequested metric", (*SCORE, "--metric-option", "snip.x=1")),
    Case("metric option without a metric", (*SCORE, "--metric-option", "x=1")),
    Case("alias of another space", (*SCORE, "--nb101-stem", "16"), fragment="does not apply to space 'nb201'"),
    Case("nb101 stem zero", ("score-all", "--space", "nb101", "--dataset", "random", "--indices", "0",
                             "--nb101-stem", "0")),
    Case("nb201 model unknown", (*SCORE, "--nb201-model", "resnet")),
    Case("nds data missing", ("score-all", "--space", "nds_darts", "--dataset", "random", "--limit", "2",
                              "--nds-data", "missing.json")),
    Case("nds data not a sweep", ("score-all", "--space", "nds_darts", "--dataset", "random", "--limit", "2",
                                  "--nds-data", "not-an-nds-file.json")),
    Case("nds compat unknown", ("score-all", "--space", "nds_darts", "--dataset", "random", "--limit", "2",
                                "--nds-compat", "nope")),
    Case("numeric edges named in the issue", (*SCORE, "--batch-size", "0"), fragment="--batch-size"),
    Case("limit -1", ("score-all", "--dataset", "random", "--limit", "-1"), fragment="--limit"),
    Case("seed beyond int64", (*SCORE, "--seed", str(2**64)), fragment="does not fit a 64-bit integer"),
    Case("arch-timeout nan", (*SCORE, "--arch-timeout", "nan"), fragment="nan is not a finite number"),
    Case("gpus-per-worker inf", (*SCORE, "--gpus-per-worker", "inf"), fragment="inf is not a finite number"),
    Case("flush-rows 0", (*SCORE, "--flush-rows", "0"), fragment="--flush-rows"),
    Case("store path is a file", (*SCORE, "--store", A_FILE), fragment=IS_A_FILE),
    Case("read-only store, every key stored", STORED_RUN, expect=(0, 1), read_only=("stored-store",),
         guard=False),
    # export
    Case("export unknown format", ("export", "--store", STORE, "--space", "nb201", "--format", "xml", "--output",
                                   "x.csv"), fragment="unknown format 'xml'"),
    Case("export unknown space", ("export", "--store", STORE, "--space", "nb999", "--format", "csv", "--output",
                                  "x.csv"), fragment="unknown space"),
    Case("export metric not stored", ("export", "--store", STORE, "--space", "nb201", "--metric", "synflow",
                                      "--format", "csv", "--output", "x.csv"), fragment="no scores for metric 'synflow'"),
    Case("export store missing", ("export", "--store", "no-store", "--space", "nb201", "--format", "csv", "--output",
                                  "x.csv"), fragment="does not exist"),
    Case("export store is a file", ("export", "--store", A_FILE, "--space", "nb201", "--format", "csv", "--output",
                                    "x.csv"), fragment=IS_A_FILE),
    Case("export into a read-only folder", ("export", "--store", STORE, "--space", "nb201", "--format", "csv",
                                            "--output", "read-only/x.csv"), expect=1, read_only=("read-only",),
         ),
    Case("export alone defaults the store like every command", ("export", "--space", "nb201", "--format", "csv",
                                                                 "--output", "x.csv"),
         expect=0, writes=("x.csv",)),
    Case("export --format CSV", ("export", "--store", STORE, "--space", "nb201", "--format", "CSV", "--output",
                                 "x.csv"), expect=0, writes=("x.csv",)),
    Case("export --output - is standard output", ("export", "--store", STORE, "--space", "nb201", "--format", "csv",
                                                  "--output", "-"), expect=0),
    # import-benchmark
    Case("unknown benchmark", ("import-benchmark", "nb999", "--source", "acc.csv"), fragment="unknown benchmark"),
    Case("source missing", ("import-benchmark", "nb201", "--source", "missing.csv", "--format", "csv", "--column",
                            "acc=cifar10:ori-test:200")),
    Case("source is a directory", ("import-benchmark", "nb201", "--source", A_DIRECTORY, "--format", "csv",
                                   "--column", "acc=cifar10:ori-test:200"), fragment="is a directory"),
    Case("malformed column mapping", ("import-benchmark", "nb201", "--source", "acc.csv", "--format", "csv",
                                      "--column", "acc=cifar10"), fragment="malformed column mapping"),
    Case("csv without columns", ("import-benchmark", "nb201", "--source", "acc.csv", "--format", "csv")),
    Case("columns with official format", ("import-benchmark", "nb201", "--source", "acc.csv", "--column",
                                          "acc=cifar10:ori-test:200")),
    Case("empty columns list", ("import-benchmark", "nb201", "--source", "acc.csv", "--format", "csv", "--columns", ",,")),
    Case("csv column missing", ("import-benchmark", "nb201", "--source", "acc.csv", "--format", "csv", "--column",
                                "nope=cifar10:ori-test:200"), fragment="has no column 'nope'"),
    Case("params scale zero", ("import-benchmark", "nb201", "--source", "acc.csv", "--format", "csv", "--column",
                               "acc=cifar10:ori-test:200", "--params-scale", "0"), fragment="--params-scale"),
    Case("accuracy scale negative", ("import-benchmark", "nb201", "--source", "acc.csv", "--format", "csv",
                                     "--column", "acc=cifar10:ori-test:200", "--accuracy-scale", "-100"),
         fragment="--accuracy-scale"),
    Case("read-only store import", ("import-benchmark", "nb201", "--source", "acc.csv", "--format", "csv", "--column",
                                    "acc=cifar10:x-valid:12", "--store", "read-only"), expect=1,
         read_only=("read-only",)),
    # analyze
    Case("analyze unknown protocol", ("analyze", "--no-plots", "--protocol", "nope")),
    Case("analyze unknown ci", ("analyze", "--no-plots", "--ci", "nope")),
    Case("analyze malformed ensembles", ("analyze", "--no-plots", "--ensembles", "best:2")),
    Case("analyze malformed epochs", ("analyze", "--no-plots", "--epochs", "12,x")),
    Case("analyze malformed list", ("analyze", "--no-plots", "--metrics", "naswot,,params")),
    Case("analyze malformed target", ("analyze", "--no-plots", "--ensembles", "auto", "--ensemble-target", "cifar10")),
    Case("analyze out is a file", ("analyze", "--out", A_FILE)),
    Case("analyze store missing", ("analyze", "--no-plots", "--store", "no-store")),
    # search
    Case("search unknown algorithm", ("search", "nope", "--no-write"), fragment="nope"),
    Case("search malformed n", ("search", "naswot", "--n", "10,x", "--no-write")),
    Case("search malformed param", ("search", "random", "--param", "x", "--no-write")),
    Case("search malformed fitness", ("search", "rea", "--budget-queries", "10", "--fitness", "cifar10", "--no-write"),
         fragment="malformed accuracy column 'cifar10'"),
    Case("search two budgets", ("search", "rea", "--budget-queries", "10", "--budget-seconds", "10", "--no-write")),
    Case("search unknown executor", ("search", "random", "--n", "3", "--executor", "nope", "--no-write"),
         fragment="nope"),
    Case("search output into a read-only folder", ("search", "random", "--runs", "2", "--n", "3", "--executor",
                                                   "local", "--no-write", "--output", "read-only/s.csv"),
         expect=1, read_only=("read-only",), guard=False, fragment="read-only for this user"),
    Case("analyze out into a read-only folder", ("analyze", "--out", "read-only/report"), expect=1,
         read_only=("read-only",), fragment="read-only for this user"),
    # spaces
    Case("spaces build unknown", ("spaces", "build", "nope"), fragment="unknown space 'nope'"),
    Case("spaces build nothing to build", ("spaces", "build", "nb201"), fragment="has nothing to build"),
    Case("unknown command", ("scoreall",)),
]


def _case_param(case: Case):
    marks = [pytest.mark.xfail(strict=True, reason=f"owned by branch {case.owner!r}")] if case.owner else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_case_param(c) for c in CASES])
def test_issue_15_case(workdir: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
                       case: Case) -> None:
    if case.guard:
        request.getfixturevalue("guarded")
    outcome, written = _run(workdir, list(case.argv), monkeypatch, case.read_only)
    for name in case.writes:
        (workdir / name).unlink(missing_ok=True)
    written = [w for w in written if w not in {f"added {name}" for name in case.writes}]
    judge(outcome, expect=case.expect, argv=list(case.argv), fragment=case.fragment, written=written)


def test_analyze_with_a_minus_inf_naswot_cell_does_not_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15: six NB201 cells, one of them a legal -inf NASWOT, crashed analyze inside matplotlib."""
    from naswot_ray.store import Store
    from naswot_ray.spaces import get_space
    from tests.analysis.score_rows import write_scores
    from tests.search.fixtures import write_accuracies

    cells = [0, 1, 1651, 100, 1835, 200]
    values = [1591.2712950571356, 1576.6039618445427, float("-inf"), 1590.081785431157, 1606.579392589204,
              1594.8285490905216]
    space = get_space("nb201")
    store = Store(str(tmp_path / "store"))
    write_accuracies(store, indices=cells, with_12=False)
    write_scores(store, space="nb201", indices=cells, archs=[space.arch(i) for i in cells], values=values)
    monkeypatch.chdir(tmp_path)
    argv = ["analyze", "--store", "store", "--out", "report"]
    outcome = run_case(argv)
    judge(outcome, expect=0, argv=argv)


# -- hangs and Ray: real processes with a time bound ----------------------------------------------------

QUICK = ("--dataset", "random", "--batch-size", "2", "--indices", "0", "--metrics", "params", "--no-progress",
         "--no-dashboard")
PROCESS_CASES = [
    ProcessCase("cuda without a GPU", ("score-all", "--device", "cuda", *QUICK), expect=2, within=40),
    ProcessCase("gpus-per-worker without a GPU", ("score-all", "--gpus-per-worker", "0.5", *QUICK), expect=2,
                within=40),
    ProcessCase("unreachable cluster", ("score-all", "--address", "127.0.0.1:9", *QUICK), expect=1, within=40),
]


def _process_param(case: ProcessCase):
    marks = [pytest.mark.ray]
    if case.owner:
        marks.append(pytest.mark.xfail(strict=True, reason=f"owned by {case.owner!r}"))
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_process_param(c) for c in PROCESS_CASES])
def test_process_case_ends_in_time_with_one_line(tmp_path: Path, case: ProcessCase) -> None:
    if case.expect != 0 and shutil.which("nvidia-smi") and "cuda" in " ".join(case.argv):
        pytest.skip("this machine has a GPU: the case is about machines without one")
    outcome = run_process_case(case, tmp_path)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    judge(outcome, expect=case.expect, argv=list(case.argv), written=[f"added {w}" for w in written])
    assert outcome.seconds < case.within
