"""Score the ``mobilenet_like`` plugin space on a local Ray with two workers, export, and compare proxies.

    pip install -e examples/mobilenet_space
    python examples/mobilenet_space/score_and_compare.py --limit 200 --store ./mobilenet-store

A user's own space has no trained accuracies yet, so what the scores can show is how the proxies agree
with each other: the Kendall tau of every pair over the same architectures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

import naswot_ray as nr

METRICS = ["naswot", "synflow", "params", "unit_entropy"]


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=200, help="architectures (a seeded uniform sample)")
    parser.add_argument("--store", default="./mobilenet-store")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    # 1. score on a local Ray with two scorer actors (rerunning resumes: stored keys are skipped)
    summary = nr.score_space("mobilenet_like", metrics=METRICS, limit=args.limit, store=args.store,
                             dataset="random", batch_size=args.batch_size, num_workers=args.workers,
                             dashboard=False)
    print("\n".join(summary.lines()))

    # 2. export, as a user hands results on (the CLI's export: one row per score, written atomically)
    csv = Path(args.store) / "mobilenet_like.csv"
    subprocess.run([sys.executable, "-m", "naswot_ray.cli.main", "export", "--store", args.store, "--space",
                    "mobilenet_like", "--format", "csv", "--output", str(csv)], check=True)

    # 3. into pandas: one row per architecture, one column per metric; how do the proxies agree?
    frame = nr.load_scores(args.store, space="mobilenet_like", metrics=METRICS)
    agreement = frame[METRICS].corr(method="kendall")
    print(f"\nKendall tau between proxies over {len(frame)} architectures:")
    print(agreement.round(2).to_string())
    return agreement


if __name__ == "__main__":
    main()
