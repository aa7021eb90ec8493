"""``naswot-ray spaces build``: builds, then verifies, the NB101 cell table; bad names are one-line errors.

Runs on the V <= 5 part of NB101 (2,532 cells, about a second) in a temporary cache directory; the full
table (423,624 cells) takes minutes and is never built in CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from naswot_ray.cli import spaces_build
from tests.cliutil import run_inprocess

V5_LINES = ["  V=2: 1 cells", "  V=3: 6 cells", "  V=4: 84 cells", "  V=5: 2,441 cells", "  total: 2,532 cells"]


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NASWOT_RAY_CACHE", str(tmp_path))
    monkeypatch.setenv("NASWOT_RAY_NB101_MAX_VERTICES", "5")
    return tmp_path / "nb101_cells_v1_max5.npz"


def test_build_then_verify(cache: Path, capsys) -> None:
    code, out, err = run_inprocess(capsys, "spaces", "build", "nb101", "--workers", "1")
    assert code == 0, err
    lines = out.splitlines()
    assert "enumerated V=5: 2,441 cells" in out
    assert any(line.startswith("NB101 cell table built in") for line in lines)
    assert all(line in lines for line in V5_LINES)
    assert "limited to V<=5 by NASWOT_RAY_NB101_MAX_VERTICES; the full space has 423,624 cells" in out
    assert f"cache: {cache} (" in out and cache.is_file()
    stamp = cache.stat().st_mtime_ns

    code, out, err = run_inprocess(capsys, "spaces", "build", "nasbench101")  # alias; nothing rebuilt
    assert code == 0, err
    assert "NB101 cell table verified (already cached):" in out and "enumerated" not in out
    assert all(line in out.splitlines() for line in V5_LINES)
    assert cache.stat().st_mtime_ns == stamp


def test_rebuild_and_unreadable_cache(cache: Path, capsys) -> None:
    cache.write_bytes(b"not an npz")
    code, out, err = run_inprocess(capsys, "spaces", "build", "nb101", "--workers", "1")
    assert code == 0, err
    assert "NB101 cell table rebuilt (the cached file was unreadable" in out and "  total: 2,532 cells" in out
    code, out, err = run_inprocess(capsys, "spaces", "build", "nb101", "--workers", "1", "--rebuild")
    assert code == 0, err
    assert "enumerated V=2: 1 cells" in out and "NB101 cell table built in" in out


def test_counts_that_differ_from_the_benchmark_fail(cache: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = {**spaces_build.CELLS_PER_VERTEX_COUNT, 5: 2_440}
    monkeypatch.setattr(spaces_build, "CELLS_PER_VERTEX_COUNT", wrong)
    code, _out, err = run_inprocess(capsys, "spaces", "build", "nb101", "--workers", "1")
    assert code == 1 and "NB101 cell counts per V" in err and "differ from the benchmark's" in err


@pytest.mark.parametrize("args, fragment", [
    (["nb201"], "space 'nb201' has nothing to build; valid choices: nb101"),
    (["nats_tss"], "space 'nats_tss' has nothing to build; valid choices: nb101"),
    (["nb999"], "unknown space 'nb999'; valid choices: nb101"),
    (["nb101", "--workers", "0"], "Invalid value for '--workers'"),
])
def test_bad_names_are_one_line_errors(cache: Path, capsys, args, fragment) -> None:
    code, out, err = run_inprocess(capsys, "spaces", "build", *args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and fragment in lines[0], err
    assert not out and not cache.exists()


def test_plain_spaces_still_lists(capsys) -> None:
    from naswot_ray.spaces import space_names

    code, out, _ = run_inprocess(capsys, "spaces")
    assert code == 0 and [line.split(":", 1)[0] for line in out.strip().splitlines()] == space_names()
