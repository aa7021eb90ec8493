"""Time the full NAS-Bench-101 enumeration and check it against real NB101 cells.

Prints time and unique-cell count per number of vertices V, the total (must be 423,624), and checks
that every one of NASLib's 500 NB101 cells (``/work/shared/data/naslib-zc-subsets``) hashes to an
enumerated cell and that our network for it has NASLib's recorded parameter count (stem 128, 10
classes). With ``--write-cache`` the result also becomes the user's cell cache.

    python benchmarks/nb101_enumeration.py --workers 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from naswot_ray.spaces.nb101.cache import default_cache_path, table_from_groups, write_table
from naswot_ray.spaces.nb101.enumeration import (
    CELLS_PER_VERTEX_COUNT,
    EnumeratedCells,
    enumerate_cells,
    expected_size,
    first_found_forms,
)
from naswot_ray.spaces.nb101.graph import INPUT, OUTPUT, cell_from_labels, make_cell
from naswot_ray.spaces.nb101.net import NB101Network

NASLIB_JSON = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "naslib-zc-subsets" / "zc_nasbench101.json"
#: NASLib's op indices in its 56-entry keys (see the data folder's SOURCE.txt)
NASLIB_OPS = [INPUT, OUTPUT, "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu"]


def naslib_cells(path: Path) -> list[tuple[list[list[int]], list[str], float]]:
    """(matrix, ops, params in millions) for every cell in NASLib's NB101 zero-cost file."""
    records = json.loads(path.read_text())["nasbench101"]["cifar10"]
    cells = []
    for key, value in records.items():
        numbers = [int(x) for x in key.strip("()").split(",")]
        matrix = [numbers[7 * r : 7 * r + 7] for r in range(7)]
        ops = [NASLIB_OPS[i] for i in numbers[49:]]
        cells.append((matrix, ops, float(value["params"])))
    return cells


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="processes hashing the representatives")
    parser.add_argument("--max-vertices", type=int, default=7)
    parser.add_argument("--write-cache", action="store_true", help="also (re)write the user's cell cache")
    args = parser.parse_args()
    torch.set_num_threads(1)

    last = [time.perf_counter()]

    def report(group: EnumeratedCells) -> None:
        now = time.perf_counter()
        print(f"V={group.num_vertices}: {len(group):>7,} cells in {now - last[0]:6.1f} s", flush=True)
        last[0] = now

    started = time.perf_counter()
    groups = enumerate_cells(args.max_vertices, workers=args.workers, on_vertex_count=report)
    elapsed = time.perf_counter() - started
    total = sum(len(g) for g in groups)
    print(f"total: {total:,} cells in {elapsed:.1f} s with {args.workers} worker(s) (expected {expected_size(args.max_vertices):,})")
    ok = total == expected_size(args.max_vertices)
    ok &= all(len(g) == CELLS_PER_VERTEX_COUNT[g.num_vertices] for g in groups)

    if args.write_cache:
        path = default_cache_path(args.max_vertices)
        write_table(table_from_groups(groups, args.max_vertices), path)
        print(f"cache written: {path} ({path.stat().st_size:,} bytes)")
    elif args.max_vertices == 7:
        print(f"(cache not written; default location would be {default_cache_path()})")

    if NASLIB_JSON.exists() and args.max_vertices == 7:
        stored = {
            h: cell_from_labels(int(b), g.num_vertices, labels.tolist())
            for g in groups
            for h, b, labels in zip(g.hashes, g.bits, g.labels)
        }
        cells = naslib_cells(NASLIB_JSON)
        # NASLib counted parameters on each spec as given (pruned), so we build those, not stored forms:
        # vertex order changes the channel split, so the stored form's count can differ slightly
        missing = params_bad = form_bad = stored_params_differ = 0
        started = time.perf_counter()
        naslib = [make_cell(matrix, ops) for matrix, ops, _ in cells]
        # the fast stored-form search must agree with the full enumeration on real cells
        for cell, form in zip(naslib, first_found_forms(naslib)):
            form_bad += stored.get(cell.module_hash()) != form
        for cell, (_, _, params_m) in zip(naslib, cells):
            missing += cell.module_hash() not in stored
            with torch.device("meta"):  # parameter shapes only: no memory, no random draws
                net = NB101Network(cell, 10, stem_channels=128)
            count = sum(p.numel() for p in net.parameters())
            params_bad += abs(count / 1e6 - params_m) > 1e-6
            with torch.device("meta"):
                stored_net = NB101Network(stored[cell.module_hash()], 10, stem_channels=128)
            stored_params_differ += sum(p.numel() for p in stored_net.parameters()) != count
        print(
            f"NASLib cells: {len(cells)}; hash not enumerated: {missing}; params mismatched: {params_bad};"
            f" stored form differs from first_found_forms: {form_bad};"
            f" stored-form network has other params (information only): {stored_params_differ}"
            f" ({time.perf_counter() - started:.1f} s)"
        )
        ok &= missing == 0 and params_bad == 0 and form_bad == 0 and len(cells) == 500
    else:
        print(f"NASLib check skipped (file {NASLIB_JSON} missing or max-vertices < 7)")
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
