"""The README works as written: its ``naswot-ray`` commands run, in the order it gives them, on a small store.

``tests/test_readme.py`` checks that every quoted command *parses*; this runs them (in process, in a
scratch folder, one local Ray shared by the scoring commands). The only change made to a command is a
smaller ``--limit`` (the README's 500 and 1,000 architectures would take minutes on CI's two cores).
A command is left out only when it needs a cluster or data this project does not have, and each
exclusion says why; a new README command is run unless one of :data:`EXCLUSIONS` names it.
Commands that fail because another branch owns the fix are ``xfail(strict=True)`` naming it.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.badinput import Outcome, run_case
from tests.cluster.quoted_commands import Quoted, commands_in_markdown
from tests.conftest import CIFAR_NPZ, NB201_CSV

README = Path(__file__).resolve().parents[1] / "README.md"
#: --limit used instead of the README's (enough architectures for analyze and search to have something)
SMALL_LIMIT = 6
#: README file names -> the shared data file that stands in for them
FILES = {"images.npz": CIFAR_NPZ, "nb201_merged_200ep.csv": NB201_CSV}


def _option(argv: tuple[str, ...], name: str, default: str | None = None) -> str | None:
    for i, word in enumerate(argv):
        if word == name and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return default


def _reads_torchvision_data(argv: tuple[str, ...]) -> bool:
    """score-all (and search --live) read CIFAR-10 by default, and CIFAR-100 / ImageNet16-120 when asked."""
    scores = argv[1] == "score-all" or (argv[1] == "search" and "--live" in argv)
    dataset = _option(argv, "--dataset", "cifar10")
    return scores and dataset in ("cifar10", "cifar100", "imagenet16-120")


@dataclass(frozen=True)
class Exclusion:
    reason: str
    applies: Callable[[tuple[str, ...]], bool]


EXCLUSIONS = [
    Exclusion("needs a running Ray cluster (--address) and an object store", lambda a: "--address" in a),
    Exclusion("needs the NDS sweep files (DARTS.json, ResNet.json), which ../shared/data does not hold",
              lambda a: _option(a, "--nds-data") is not None),
    Exclusion("needs the example plugin package installed by the README's `pip install -e examples/mobilenet_space` "
              "(tests/examples installs it and checks that `spaces` lists mobilenet_like with its options)",
              lambda a: "mobilenet_like" in a),
    Exclusion("needs the full CIFAR-10 training set (downloaded on first use; CI has no network, and ../shared/data "
              "holds a 4,000-image subset, which the README's npz command uses)", _reads_torchvision_data),
]

#: README commands that fail today because another branch owns the fix: (first two words) -> owner and why
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


def readme_commands() -> list[Quoted]:
    """The complete ``naswot-ray`` commands of the README's code blocks, in reading order."""
    return [q for q in commands_in_markdown(README.read_text(), "README.md") if q.program == "naswot-ray" and q.complete]


def as_run(argv: tuple[str, ...]) -> list[str]:
    """The command as the test runs it: the README's, with a smaller --limit."""
    words = list(argv[1:])
    for i, word in enumerate(words[:-1]):
        if word == "--limit":
            words[i + 1] = str(min(int(words[i + 1]), SMALL_LIMIT))
    return words


def exclusion(argv: tuple[str, ...]) -> Exclusion | None:
    return next((e for e in EXCLUSIONS if e.applies(argv)), None)


QUOTED = readme_commands()


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Run every README command that is not excluded, in order, in one scratch folder; outcome per source line."""
    import ray

    for name, shared in FILES.items():
        if not shared.exists():
            pytest.skip(f"shared data not found at {shared} (the README's {name})")
    folder = tmp_path_factory.mktemp("readme")
    for name, shared in FILES.items():
        shutil.copyfile(shared, folder / name)
    if ray.is_initialized():
        ray.shutdown()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="naswot-ray-readme")
    outcomes: dict[str, Outcome] = {}
    cwd = Path.cwd()
    try:
        os.chdir(folder)
        for quoted in QUOTED:
            if exclusion(quoted.argv) is None:
                outcomes[quoted.source] = run_case(as_run(quoted.argv))
    finally:
        os.chdir(cwd)
        ray.shutdown()
    return outcomes


def _param(quoted: Quoted):
    owner = KNOWN_FAILURES.get(tuple(quoted.argv[1:3]))
    marks = [pytest.mark.ray]
    if owner and exclusion(quoted.argv) is None:
        marks.append(pytest.mark.xfail(strict=True, reason=f"owned by branch {owner}"))
    return pytest.param(quoted, id=f"{quoted.source} {' '.join(quoted.argv[1:3])}", marks=marks)


def test_the_readme_quotes_commands_to_run() -> None:
    ran = [q for q in QUOTED if exclusion(q.argv) is None]
    verbs = {q.argv[1] for q in ran}
    assert {"score-all", "export", "spaces", "import-benchmark", "analyze", "search"} <= verbs, verbs
    assert len(ran) >= 8, [str(q) for q in ran]


@pytest.mark.parametrize("quoted", [_param(q) for q in QUOTED])
def test_readme_command_runs_as_written(sequence: dict[str, Outcome], quoted: Quoted) -> None:
    excluded = exclusion(quoted.argv)
    if excluded is not None:
        pytest.skip(f"not run: {excluded.reason}")
    outcome = sequence[quoted.source]
    shown = f"naswot-ray {shlex.join(as_run(quoted.argv))}"
    assert not outcome.crash, f"{shown}\n{outcome.crash}"
    assert outcome.code == 0, f"{shown}\nexit {outcome.code}\nstderr: {outcome.err.strip()}"
