"""The top-level README stays true: every naswot-ray command it quotes is accepted by the real CLI,
every option it names exists, and CI runs its test command.

Reuses the command finder written for cluster/ (tests/cluster/quoted_commands.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.quoted_commands import check, commands_in_markdown, script_options, unknown_option_mentions

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
QUOTED = [q for q in commands_in_markdown(README.read_text(), "README.md") if q.program == "naswot-ray"]


def test_readme_quotes_the_main_commands() -> None:
    verbs = {q.argv[1] for q in QUOTED if len(q.argv) > 1}
    assert {"score-all", "export", "import-benchmark", "analyze", "search", "spaces"} <= verbs


@pytest.mark.parametrize("quoted", QUOTED, ids=lambda q: f"{q.source}:{' '.join(q.argv[:3])}")
def test_every_quoted_command_is_accepted(quoted) -> None:
    check(quoted)


def test_every_named_option_exists() -> None:
    unknown = unknown_option_mentions(README.read_text(), "README.md")
    assert not unknown, f"options named in README.md that neither naswot-ray nor the script named beside them has: {unknown}"


def test_a_script_option_is_checked_against_that_script() -> None:
    paragraph = "`scripts/ensemble_tables.py --out DIR` (`--leave-out swap`)"
    assert {"--leave-out", "--no-search", "--out"} <= script_options(paragraph)
    assert "--no-such-option" not in script_options(paragraph)
    assert "--leave-out" not in script_options("`benchmarks/resume_read.py`")
    text = "Run `scripts/ensemble_tables.py` with `--leave-out swap`.\n\nElsewhere, `--leave-out swap`.\n"
    assert unknown_option_mentions(text, "X") == ["X:3: --leave-out"]  # only beside the script that has it


def test_ci_runs_the_readme_test_command() -> None:
    test_command = "python3 -m venv .venv && . .venv/bin/activate && pip install -q -e '.[test]' && python -m pytest -q"
    assert test_command in README.read_text()
    assert test_command in (ROOT / ".ci" / "run").read_text()
