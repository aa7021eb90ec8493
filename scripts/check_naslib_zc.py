"""Cross-check our scores against NASLib's independent zero-cost values on their 725 NB201 cells.

Decodes NASLib's op-index keys (see ../shared/data/naslib-zc-subsets/SOURCE.txt) into NB201 indices,
scores those cells through the engine (``run_score_all``, local Ray) into a store, and prints the
Spearman rank correlation of each of our metrics with NASLib's value of the same proxy.

Usage: python scripts/check_naslib_zc.py [--metrics naswot] [--batch-size 64] [--store DIR] [--dataset cifar10]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from naswot_ray.data import BatchSpec  # noqa: E402
from naswot_ray.engine.driver import run_score_all  # noqa: E402
from naswot_ray.engine.job import ScoreJob  # noqa: E402
from naswot_ray.spaces import get_space  # noqa: E402
from naswot_ray.store import Store  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
NASLIB_OPS = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"]
#: our metric name -> NASLib's key
NASLIB_NAME = {"naswot": "nwot", "params": "params", "flops": "flops", "synflow": "synflow", "grad_norm": "grad_norm",
               "snip": "snip", "grasp": "grasp", "fisher": "fisher", "jacob_cov": "jacov"}


def naslib_cells(dataset: str = "cifar10") -> dict[int, dict]:
    """NB201 index -> NASLib's record, for every cell of their subset."""
    table = json.loads((DATA / "naslib-zc-subsets" / "zc_nasbench201.json").read_text())[dataset]
    space = get_space("nb201")
    out = {}
    for key, record in table.items():
        ops = [NASLIB_OPS[int(k)] for k in key.strip("()").split(",")]
        # edges (1,2),(1,3),(1,4),(2,3),(2,4),(3,4) in NASLib's 1-based nodes = NB201 1<-0, 2<-0, 3<-0, 2<-1, 3<-1, 3<-2
        e12, e13, e14, e23, e24, e34 = ops
        arch = f"|{e12}~0|+|{e13}~0|{e23}~1|+|{e14}~0|{e24}~1|{e34}~2|"
        out[space.index(arch)] = record
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", default="naswot")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--store", default="/tmp/naslib-check-store")
    parser.add_argument("--naslib-dataset", default="cifar10")
    parser.add_argument("--dataset", default=f"npz:{DATA / 'cifar10-convnetjs-subset' / 'cifar10_subset_uint8_nhwc.npz'}")
    args = parser.parse_args()
    cells = naslib_cells(args.naslib_dataset)
    metrics = args.metrics.split(",")
    job = ScoreJob(space="nb201", metrics=metrics, batch=BatchSpec(args.dataset, batch_size=args.batch_size, seed=1),
                   store=args.store, indices=sorted(cells))
    print("\n".join(run_score_all(job).lines()))
    scores = Store(args.store).read("scores").to_pandas()
    for metric in metrics:
        mine = scores[(scores.metric == metric) & (scores.status == "ok")].set_index("arch_index")["value"]
        key = NASLIB_NAME[metric]
        # a few NASLib records lack some proxies (e.g. one cell has no synflow): compare where both exist
        common = [i for i in cells if i in mine.index and key in cells[i]]
        theirs = np.array([cells[i][key]["score"] if isinstance(cells[i][key], dict) else cells[i][key]
                           for i in common], dtype=float)
        ours = mine.loc[common].to_numpy(dtype=float)
        finite = np.isfinite(ours) & np.isfinite(theirs)
        rho = stats.spearmanr(ours[finite], theirs[finite]).statistic
        print(f"{metric:>10}: n={int(finite.sum())} Spearman with NASLib {NASLIB_NAME[metric]} = {rho:.4f}")


if __name__ == "__main__":
    main()
