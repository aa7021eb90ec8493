"""The top-level README stays true: every naswot-ray command it quotes is accepted by the real CLI,
every option it names exists, and CI runs its test command.

Reuses the command finder written for cluster/ (tests/cluster/quoted_commands.py).
"""

from __future__ import annotations

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


def test_every_named_option_exists() -> None:
    known = all_naswot_options()
    unknown = sorted({option for _, option in option_mentions(README.read_text(), "README.md") if option not in known})
    assert not unknown, f"options named in README.md that no naswot-ray command has: {unknown}"


def test_ci_runs_the_readme_test_command() -> None:
    test_command = "python3 -m venv .venv && . .venv/bin/activate && pip install -q -e '.[test]' && python -m pytest -q"
    assert test_command in README.read_text()
    assert test_command in (ROOT / ".ci" / "run").read_text()
