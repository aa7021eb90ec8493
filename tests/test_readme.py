"""The top-level README stays true: every naswot-ray command it quotes is accepted by the real CLI,
every option it names exists, and CI runs its test command.

Reuses the command finder written for cluster/ (tests/cluster/quoted_commands.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cluster.quoted_commands import all_naswot_options, check, commands_in_markdown, option_mentions

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
QUOTED = [q for q in commands_in_markdown(README.read_text(), "README.md") if q.program == "naswot-ray"]


def test_readme_quotes_the_main_commands() -> None:
    verbs = {q.argv[1] for q in QUOTED if len(q.argv) > 1}
    assert {"score-all", "export", "import-benchmark", "analyze", "search", "spaces"} <= verbs


@pytest.mark.parametrize("quoted", QUOTED, ids=lambda q: f"{q.source}:{' '.join(q.argv[:3])}")
def test_every_quoted_command_is_accepted(quoted) -> None:
    check(quoted)


SCRIPT_PATH = re.compile(r"(?<![\w/.-])((?:scripts|benchmarks)/[\w-]+\.py)")
QUOTED_OPTION = re.compile(r"""["'](--[A-Za-z][\w-]*)["']""")


def script_options(paragraph: str) -> set[str]:
    """Options that the scripts named in ``paragraph`` declare (as quoted strings in their source).

    A README sentence about ``scripts/ensemble_tables.py`` may name that script's own options; they are
    checked against the script, not against naswot-ray's commands.
    """
    options: set[str] = set()
    for script in SCRIPT_PATH.findall(paragraph):
        path = ROOT / script
        assert path.is_file(), f"README.md names {script}, which does not exist"
        options |= set(QUOTED_OPTION.findall(path.read_text()))
    return options


def paragraph_at(lines: list[str], number: int) -> str:
    """The blank-line-delimited paragraph holding 1-based line ``number``."""
    start = end = number - 1
    while start > 0 and lines[start - 1].strip():
        start -= 1
    while end + 1 < len(lines) and lines[end + 1].strip():
        end += 1
    return "\n".join(lines[start : end + 1])


def test_every_named_option_exists() -> None:
    known = all_naswot_options()
    lines = README.read_text().splitlines()
    unknown = sorted(
        {
            f"{where}: {option}"
            for where, option in option_mentions(README.read_text(), "README.md")
            if option not in known
            and option not in script_options(paragraph_at(lines, int(where.rsplit(":", 1)[1])))
        }
    )
    assert not unknown, f"options named in README.md that neither naswot-ray nor the script named beside them has: {unknown}"


def test_a_script_option_is_checked_against_that_script() -> None:
    paragraph = "`scripts/ensemble_tables.py --out DIR` (`--leave-out swap`)"
    assert {"--leave-out", "--no-search", "--out"} <= script_options(paragraph)
    assert "--no-such-option" not in script_options(paragraph)
    assert "--leave-out" not in script_options("`benchmarks/resume_read.py`")


def test_ci_runs_the_readme_test_command() -> None:
    test_command = "python3 -m venv .venv && . .venv/bin/activate && pip install -q -e '.[test]' && python -m pytest -q"
    assert test_command in README.read_text()
    assert test_command in (ROOT / ".ci" / "run").read_text()
