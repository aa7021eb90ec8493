"""Check our NB201 networks' parameter counts against the benchmark's recorded ``params`` for all 15,625 cells.

Why: the parameter count is the one per-cell number the benchmark records that depends only on the
network's structure, so matching it for every cell is a whole-space check of the builder (every
network is built and counted) and of the closed form used to annotate results.

The recorded CIFAR-10 values come from ``nb201_merged_200ep.csv`` (``params_M_cifar10``, in 1e6).
Most are whole parameter counts; a few are fractional (an average over records of different cells in
the source file), and those are listed with the difference from our count.

Usage: python scripts/check_nb201_params.py [--csv PATH] [--no-build]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from naswot_ray.spaces.nb201.space import NB201_SIZE, NB201Space, nb201_param_count  # noqa: E402
from naswot_ray.spaces.nb201.net import build_nb201_network  # noqa: E402

DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "nb201-merged-200ep" / "nb201_merged_200ep.csv"
TOL_M = 1e-6  # the CSV has 6 decimals of millions, i.e. whole parameters
NUM_CLASSES = 10
CONV3_PARAMS = 243_040  # one 3x3 conv edge repeated over the 15 cells
CONV1_PARAMS = 28_000  # one 1x1 conv edge repeated over the 15 cells


def explain(diff_params: float) -> str:
    """Express a difference as a fraction of conv edges (a mean over 2 or 3 records of different cells)."""
    for denominator in (1, 2, 3):
        scaled = diff_params * denominator
        for n3 in range(-6, 7):
            rest = scaled - n3 * CONV3_PARAMS
            n1 = round(rest / CONV1_PARAMS)
            if abs(rest - n1 * CONV1_PARAMS) < 2 and abs(n1) <= 6:  # 6-decimal rounding: < 0.5 param each
                return f"({n3:+d} conv3x3, {n1:+d} conv1x1 edges)/{denominator}"
    return "unexplained"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--no-build", action="store_true", help="closed form only (seconds instead of minutes)")
    args = parser.parse_args()
    if not args.csv.exists():
        print(f"CSV not found: {args.csv}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    table = pd.read_csv(args.csv)
    space = NB201Space()
    if len(table) != NB201_SIZE:
        print(f"expected {NB201_SIZE} rows, found {len(table)}", file=sys.stderr)
        return 1

    start = time.perf_counter()
    ours: list[int] = []
    build_mismatch = 0
    for index, arch in zip(table["index"], table["arch_str"]):
        if space.arch(int(index)) != arch:
            print(f"index {index}: CSV arch {arch} differs from ours {space.arch(int(index))}", file=sys.stderr)
            return 1
        closed = nb201_param_count(arch, NUM_CLASSES)
        if not args.no_build:
            net = build_nb201_network(arch, NUM_CLASSES)
            built = sum(p.numel() for p in net.parameters())
            if built != closed:
                build_mismatch += 1
                print(f"index {index}: built network has {built} params, closed form {closed}")
        ours.append(closed)
    elapsed = time.perf_counter() - start

    recorded_m = table["params_M_cifar10"].to_numpy()
    whole_rows, fractional_rows = [], []
    for i, (rec, our) in enumerate(zip(recorded_m, ours)):
        rec_params = rec * 1e6
        (whole_rows if abs(rec_params - round(rec_params)) < 1e-6 else fractional_rows).append((i, rec, our))

    def matches(rec: float, our: int) -> bool:
        return abs(rec - our / 1e6) <= TOL_M + 1e-12

    whole_match = [r for r in whole_rows if matches(r[1], r[2])]
    whole_miss = [r for r in whole_rows if not matches(r[1], r[2])]
    built_note = "not built (--no-build)" if args.no_build else f"all built; built != closed form: {build_mismatch}"
    print(f"cells: {len(table)}; networks {built_note}; {elapsed:.1f} s")
    print(f"whole-number records: {len(whole_rows)}; matching ours to 1e-6 M: {len(whole_match)}; differing: {len(whole_miss)}")
    for label, rows in (("whole-number records that differ", whole_miss), ("non-whole records", fractional_rows)):
        print(f"\n{label} ({len(rows)}): index, recorded M, ours M, recorded-ours M, as conv edges")
        for i, rec, our in rows:
            diff = rec - our / 1e6
            print(f"  {i:5d}  {rec:.6f}  {our / 1e6:.6f}  {diff:+.6f}  {explain(diff * 1e6)}")
    print("\ndistribution of recorded-ours over records that differ (M: count):")
    counts = Counter(round(rec - our / 1e6, 6) for i, rec, our in whole_miss + fractional_rows)
    for diff, count in sorted(counts.items()):
        print(f"  {diff:+.6f}: {count}  {explain(diff * 1e6)}")
    return 0 if build_mismatch == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
