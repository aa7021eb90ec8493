"""A new user's first hour (issue 15), the parts that are not bad input: help with no arguments, saying so
when --limit exceeds the space, the NB101 table built visibly before a run, and imports that count what
they skip. Scoring itself is replaced by a stub here (the engine has its own tests), so these run in seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from naswot_ray.errors import InputError
from naswot_ray.spaces import get_space
from tests.cliutil import run_inprocess


class _Summary:
    def lines(self) -> list[str]:
        return ["run stub: nothing scored"]


@pytest.fixture()
def engine_calls(monkeypatch: pytest.MonkeyPatch) -> list:
    """score-all runs for real up to the engine call, which records the job instead of scoring."""
    import naswot_ray.engine.driver as driver

    calls: list = []

    def record(job, **_kwargs):
        calls.append(job)
        return _Summary()

    monkeypatch.setattr(driver, "run_score_all", record)
    return calls


def test_naswot_ray_alone_prints_its_help(capsys) -> None:
    code, out, err = run_inprocess(capsys)
    assert code == 0 and err == ""
    assert out.startswith("Usage: naswot-ray [OPTIONS] COMMAND [ARGS]...")
    assert "score-all" in out and "import-benchmark" in out


def test_limit_beyond_the_space_is_said_on_one_line(tmp_path: Path, capsys, engine_calls: list) -> None:
    size = get_space("nb201").size
    code, out, err = run_inprocess(capsys, "score-all", "--store", str(tmp_path / "s"), "--dataset", "random",
                                   "--limit", "20000", "--no-progress")
    assert code == 0, err
    assert err.strip() == f"note: --limit 20,000 is more than space 'nb201' holds; scoring all {size:,} of its architectures"
    assert len(engine_calls[0].requested_indices()) == size
    code, _, err = run_inprocess(capsys, "score-all", "--store", str(tmp_path / "s"), "--dataset", "random",
                                 "--limit", "20", "--no-progress")
    assert code == 0 and err == ""


def test_nb101_table_is_built_before_the_run_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys) -> None:
    from naswot_ray.spaces.nb101.cache import default_cache_path, is_cached

    monkeypatch.setenv("NASWOT_RAY_CACHE", str(tmp_path / "cache"))  # V <= 5 (tests/conftest.py): about a second
    space = type(get_space("nb101"))()
    lines: list[str] = []
    space.prepare(progress=True, note=lines.append)
    err = capsys.readouterr().err
    assert lines == ["the NB101 cell table is not cached yet: building it first (2,532 cells; `naswot-ray spaces build "
                     "nb101` does this ahead of a run)"]
    assert "building the NB101 cell table" in err and "2.53k/2.53k" in err  # its own bar, on stderr
    assert is_cached(5) and default_cache_path(5).is_file()
    lines.clear()
    space.prepare(progress=True, note=lines.append)
    assert lines == [] and capsys.readouterr().err == ""  # cached now: nothing to say


def test_the_engine_prepares_the_space_before_anything_else(tmp_path: Path) -> None:
    """run_score_all asks the space to prepare before it plans, starts Ray or writes a runs row."""
    from naswot_ray.data import BatchSpec
    from naswot_ray.engine.driver import run_score_all
    from naswot_ray.engine.job import ScoreJob

    space = get_space("nb201")

    class Unprepared(type(space)):
        def prepare(self, *, progress=True, note=None):
            raise InputError("prepare was called first")

    job = ScoreJob(space="nb201", metrics=["params"], batch=BatchSpec("random", batch_size=2), store=str(tmp_path / "s"),
                   indices=[0], space_object=Unprepared(), progress=False)
    with pytest.raises(InputError, match="prepare was called first"):
        run_score_all(job)
    assert not (tmp_path / "s").exists()


def test_import_counts_the_architectures_it_skips(tmp_path: Path, capsys) -> None:
    space = get_space("nb201")
    csv = tmp_path / "partial.csv"
    csv.write_text("arch_str,acc,val\n" + "".join(
        f"{space.arch(i)},{'' if i in (1, 3) else 60 + i},{70 + i}\n" for i in range(5)))
    code, out, err = run_inprocess(capsys, "import-benchmark", "nb201", "--source", str(csv), "--format", "csv",
                                   "--column", "acc=cifar10:ori-test:200", "--column", "val=cifar10-valid:x-valid:200",
                                   "--store", str(tmp_path / "s"))
    assert code == 0, err
    assert "  cifar10:ori-test:200  3 architectures (2 listed without a value: not imported)" in out.splitlines()
    assert "  cifar10-valid:x-valid:200  5 architectures" in out.splitlines()
