"""The shared click types: domains at the edges, and output places checked before a command runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import pytest

from naswot_ray.cli.types import (COUNT, GPUS, OUTPUT_DIR, OUTPUT_FILE, SEED, TEXT, Output, Path as NonEmptyPath,
                                  require_text)
from naswot_ray.errors import EnvironmentProblem
from tests.cli.badinput import open_folder, read_only


@pytest.mark.parametrize("kind, good, bad", [
    (COUNT, ["1", " 7 ", 2**63 - 1], ["0", "-1", "1.5", "", "x", str(2**63), "9" * 5000]),
    (SEED, ["0", str(2**63 - 1)], ["-1", str(2**64)]),
    (GPUS, ["0.25", "8", "1e-3"], ["0", "-0.5", "8.01", "nan", "inf", "-inf", "1e999", "NaN", ""]),
    (TEXT, ["a", " x "], ["", "   "]),
])
def test_domains(kind: click.ParamType, good: list, bad: list) -> None:
    for value in good:
        kind.convert(value, None, None)
    for value in bad:
        with pytest.raises(click.BadParameter) as err:
            kind.convert(value, None, None)
        assert "\n" not in err.value.format_message() and len(err.value.format_message()) < 200


def test_output_places(tmp_path: Path) -> None:
    assert OUTPUT_FILE.convert(str(tmp_path / "new" / "deeper" / "x.csv"), None, None)  # folders still to make: fine
    assert OUTPUT_DIR.convert(str(tmp_path / "report"), None, None)
    (tmp_path / "file").write_text("x")
    with pytest.raises(click.BadParameter, match="is a file, not a folder"):
        OUTPUT_FILE.convert(str(tmp_path / "file" / "x.csv"), None, None)
    with pytest.raises(click.BadParameter, match="is a directory"):
        OUTPUT_FILE.convert(str(tmp_path), None, None)
    assert Output(allow_dash=True).convert("-", None, None) == "-"  # standard output, where a command allows it


def test_an_unwritable_output_folder_is_the_environments_problem() -> None:
    root = open_folder("naswot-types-")
    locked = root / "locked"
    locked.mkdir()
    try:
        with read_only([locked]), pytest.raises(EnvironmentProblem,
                                                match=r"cannot be written: .*locked' is read-only for this user"):
            OUTPUT_FILE.convert(str(locked / "sub" / "x.csv"), None, None)
    finally:
        shutil.rmtree(root)


def test_require_text_covers_every_plain_string_and_path_parameter() -> None:
    @click.command()
    @click.option("--name")
    @click.option("--out", type=click.Path(dir_okay=False))
    @click.option("--count", type=COUNT)
    def command(name, out, count) -> None:  # pragma: no cover - never invoked
        ...

    require_text(command)
    kinds = {p.name: p.type for p in command.params}
    assert kinds["name"] is TEXT and isinstance(kinds["out"], NonEmptyPath) and not kinds["out"].dir_okay
    assert kinds["count"] is COUNT
