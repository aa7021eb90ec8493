"""Reference NB101 cells shared by the nb101 tests (facts from spaces-spec.md §3.3-§3.5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from naswot_ray.spaces.nb101.graph import INPUT, OUTPUT, Cell, make_cell

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
NASLIB_NB101 = SHARED / "naslib-zc-subsets" / "zc_nasbench101.json"
#: NASLib's op indices in its 56-entry keys (SOURCE.txt of that folder)
NASLIB_OPS = [INPUT, OUTPUT, MP, C1, C3]


def matrix(n: int, edges: list[tuple[int, int]]) -> list[list[int]]:
    rows = [[0] * n for _ in range(n)]
    for a, b in edges:
        rows[a][b] = 1
    return rows


def spec(n: int, edges: list[tuple[int, int]], interior: list[str]) -> Cell:
    return make_cell(matrix(n, edges), [INPUT, *interior, OUTPUT])


#: NNI's documented NB101 example: hash 00005c14..., 8,555,530 parameters
NNI_EXAMPLE = spec(7, [(0, 1), (1, 2), (2, 3), (0, 4), (0, 5), (3, 5), (4, 5), (2, 6), (5, 6)], [C3, MP, C3, C3, C1])
NNI_HASH = "00005c142e6f48ac74fdcf73e3439874"
#: the README "Inception-like" spec and the dataset's stored (first-found) form of the same model
INCEPTION_README = spec(7, [(0, 1), (0, 2), (0, 3), (0, 5), (1, 6), (2, 6), (3, 4), (4, 6), (5, 6)], [C1, C3, C3, C3, MP])
INCEPTION_STORED = spec(7, [(0, 1), (0, 2), (0, 3), (0, 4), (4, 5), (1, 6), (2, 6), (3, 6), (5, 6)], [C3, C1, MP, C3, C3])
INCEPTION_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"
INCEPTION_STORED_ARCH = "0111100.0000001.0000001.0000001.0000010.0000001.0000000|conv3x3,conv1x1,maxpool3x3,conv3x3,conv3x3"


def naslib_records() -> list[tuple[list[list[int]], list[str], float]]:
    """(matrix, ops, params in M) of NASLib's 500 NB101 cells; skips the test when the data is absent."""
    if not NASLIB_NB101.exists():
        pytest.skip(f"shared data not found at {NASLIB_NB101}")
    records = json.loads(NASLIB_NB101.read_text())["nasbench101"]["cifar10"]
    out = []
    for key, value in records.items():
        numbers = [int(x) for x in key.strip("()").split(",")]
        out.append(([numbers[7 * r : 7 * r + 7] for r in range(7)], [NASLIB_OPS[i] for i in numbers[49:]], float(value["params"])))
    return out
