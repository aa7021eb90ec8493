"""The README's accuracy, analysis and search commands, run in the order it quotes them, on a small store.

Why: its ``search rea`` / ``search area`` examples failed right after its own ``import-benchmark`` command
("no default fitness column"), although each command parsed. Here they run for real: from the
``import-benchmark`` command to the last ``search`` command of the README's code blocks, with stored rows
standing in for the README's ``score-all`` runs (the NASWOT authors' own scores of all 15,625 NB201 cells
as the set-up's random-batch run, the cells' parameter counts, and NASLib's synflow values of 725 cells
as the images run), fewer search runs, and ``--live`` (Ray, downloaded images) left out.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from naswot_ray.spaces import get_space
from naswot_ray.store import Store
from tests.analysis.score_rows import write_scores
from tests.cliutil import run_inprocess
from tests.cluster.quoted_commands import commands_in_markdown
from tests.conftest import shared_path

README = Path(__file__).resolve().parents[2] / "README.md"
FEWER_RUNS = {"500": "20", "50": "4"}


def readme_sequence() -> list[list[str]]:
    """The quoted naswot-ray commands from the first import-benchmark to the last search, in README order."""
    quoted = [list(q.argv[1:]) for q in commands_in_markdown(README.read_text(), "README.md")
              if q.program == "naswot-ray" and q.complete and len(q.argv) > 1]
    start = next(i for i, argv in enumerate(quoted) if argv[0] == "import-benchmark")
    end = max(i for i, argv in enumerate(quoted) if argv[0] == "search")
    return [argv for argv in quoted[start:end + 1] if argv[0] in ("import-benchmark", "analyze", "search")]


def naslib_synflow() -> tuple[list[int], list[float]]:
    """NASLib's synflow of its 725 CIFAR-10 NB201 cells (tests/search/fixtures decodes their cell keys)."""
    import json

    from tests.search.fixtures import NASLIB, naslib_cell

    entries = json.loads(shared_path(NASLIB).read_text())["cifar10"]
    space = get_space("nb201")
    kept = [(space.index(naslib_cell(key)), e["synflow"]["score"]) for key, e in entries.items() if "synflow" in e]
    return [i for i, _ in kept], [v for _, v in kept]


def _shorter(argv: list[str]) -> list[str]:
    out = list(argv)
    for i, word in enumerate(out[:-1]):
        if word == "--runs":
            out[i + 1] = FEWER_RUNS.get(out[i + 1], out[i + 1])
    return out


def test_the_readme_sequence_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    merged = shared_path("nb201-merged-200ep/nb201_merged_200ep.csv")
    authors = pd.read_csv(shared_path("nb201-bayeswatch-arch-score-acc/arch_score_acc.csv"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nb201_merged_200ep.csv").symlink_to(merged)  # the README names the file as downloaded
    store = Store("naswot-store")
    space = get_space("nb201")
    assert (authors["cellstr"] == [space.arch(i) for i in authors["arch"]]).all()
    write_scores(store, space="nb201", indices=authors["arch"], archs=authors["cellstr"], values=authors["score"],
                 dataset="random", batch_sha256="bayeswatch")
    write_scores(store, space="nb201", indices=authors["arch"], archs=authors["cellstr"],
                 values=authors["params"] * 1e6, metric="params", mode="default", batch_sha256="none")
    indices, synflow = naslib_synflow()
    write_scores(store, space="nb201", indices=indices, archs=[space.arch(i) for i in indices], values=synflow,
                 metric="synflow", mode="default", dataset="npz:images.npz", batch_sha256="naslib")
    sequence = readme_sequence()
    verbs = [argv[:2] for argv in sequence]
    assert ["search", "rea"] in verbs and ["search", "area"] in verbs and verbs[0] == ["import-benchmark", "nb201"]
    ran = 0
    for argv in sequence:
        if "--live" in argv:
            continue
        code, out, err = run_inprocess(capsys, *_shorter(argv))
        assert code == 0, f"naswot-ray {' '.join(argv)} failed: {err.strip()}"
        ran += 1
    assert ran >= 6
    assert Path("table2.csv").exists() and Path("report", "correlations.csv").exists()
    searches = Store("naswot-store").read("searches").to_pandas()
    assert {"naswot", "rea", "area"} <= set(searches["algorithm"])
    assert set(searches[searches.algorithm == "rea"]["fitness_column"]) == {"cifar10-valid:x-valid:200"}
