"""Whether a VKDNW row's gap comes from the head size or from the cells: VKDNW_single and VKDNW_agg on one
fixed cell list, computed once with the 10-class head's ``vkdnw``/``vkdnw_jacov`` and once with the
dataset's own head (100 / 120 classes), each with a 1,000-resample bootstrap 95 % interval.

The 100/120-class runs of issue 13 cover VKDNW's seeded 250-cell subset, measured as two halves of 125
(``scripts/measure_proxies.sh``, steps vkdnw-half and vkdnw-big, say how each was drawn); pass a list as
``--cells`` (a file of comma-separated indices): on the first 125 alone the ImageNet16-120 rows were 0.03
low with either head, on all 250 they match.

    python scripts/vkdnw_subset_check.py --store /work/stores/proxies --cells /work/stores/logs/subset250.txt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

import proxy_correlations as pc  # noqa: E402
from ensemble_tables import read_cells  # noqa: E402

from naswot_ray.analysis.stats import bootstrap_ci, spearman_rho  # noqa: E402
from naswot_ray.store import Store  # noqa: E402

TARGETS = (("cifar10", "ori-test", 10), ("cifar100", "x-test", 100), ("ImageNet16-120", "x-test", 120))


def rho_with_interval(values: pd.Series, accuracy: pd.Series) -> tuple[float, float, float, int]:
    """Spearman rho and its 95 % bootstrap interval (``analyze --ci bootstrap``'s estimator, 1,000
    resamples, seed 0) over the cells both have."""
    both = pd.concat([values.rename("v"), accuracy.rename("a")], axis=1, join="inner").dropna()
    score, acc = both["v"].to_numpy(dtype=float), both["a"].to_numpy(dtype=float)
    _tau_ci, (low, high) = bootstrap_ci(score, acc, resamples=1000, seed=0)
    return spearman_rho(score, acc), low, high, len(both)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--cells", required=True, help="file with comma-separated architecture indices")
    args = parser.parse_args(argv)
    cells = read_cells(args.cells)
    scores, accuracies = pc.load(Store(args.store))
    for dataset, split, classes in TARGETS:
        accuracy = accuracies[(accuracies["dataset"] == dataset) & (accuracies["split"] == split)] \
            .set_index("arch_index")["accuracy"]
        for head in sorted({10, classes}):
            # only this head's VKDNW rows, so metric_values cannot fall back to another head
            chosen = scores[~(scores["metric"].isin(["vkdnw", "vkdnw_jacov"]) & (scores["num_classes"] != head))]
            aggregates = pc.aggregates(chosen, head, cells)
            parts = []
            for name in ("vkdnw_single", "vkdnw_agg"):
                if name not in aggregates:
                    parts.append(f"{name}: not scored with this head")
                    continue
                rho, low, high, n = rho_with_interval(aggregates[name], accuracy)
                parts.append(f"{name} {rho:.3f} [{low:.3f}, {high:.3f}] n={n}")
            print(f"{dataset:15s} head {head:3d}: " + " | ".join(parts))


if __name__ == "__main__":
    main()
