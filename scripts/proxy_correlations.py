"""Issue 13's per-proxy table: our Spearman / Kendall tau-b on the scored NB201 cells against 200-epoch test
accuracy, next to the published value and the difference, on all scored cells and on those in VKDNW's
9,445-cell set (no dead branches, :func:`naswot_ray.spaces.nb201.cell.is_dead_branch_free`).

Reads one store (scores from ``scripts/measure_proxies.sh``, accuracies from ``naswot-ray
import-benchmark``). Per dataset the head size is the dataset's class count (10 / 100 / 120) for
metrics stored at that size; metrics that never read logits were scored once with a 10-class head and
that value serves every dataset. Three rows are rank aggregates of stored components over the scored
pool (they are relative to it, as in the papers): AZ-NAS (sum of ln rank/N of expressivity,
progressivity, trainability and FLOPs), VKDNW_single (dense rank of the pair (aleph, vkdnw)) and
VKDNW_agg (ln dense rank (aleph, vkdnw) + ln rank of expressivity, trainability, FLOPs and vkdnw_jacov).
Published rows marked UNVERIFIED in the spec are printed without a gate.

Usage: python scripts/proxy_correlations.py [--store /work/stores/proxies] [--csv OUT.csv]
The last line is machine-readable JSON: {proxy/dataset/set: [rho, published, diff]}.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from naswot_ray.spaces.nb201.cell import is_dead_branch_free, parse_cell  # noqa: E402
from naswot_ray.store import Store  # noqa: E402

#: dataset -> (head size, accuracy (dataset, split) the published rows use)
DATASETS = {
    "cifar10": (10, ("cifar10", "ori-test")),
    "cifar100": (100, ("cifar100", "x-test")),
    "ImageNet16-120": (120, ("ImageNet16-120", "x-test")),
}
#: MeCo's script reads the cifar10-valid key (the 25k-train model's test accuracy)
C10_VALID = ("cifar10-valid", "ori-test")
ALL, VALID = "all", "valid"


@dataclass(frozen=True)
class Published:
    rho: float
    tau: float | None = None
    source: str = ""
    gated: bool = True


#: (proxy, dataset, cell set) -> published value (proxies-sota-spec section 11 and Table 1)
PUBLISHED: dict[tuple[str, str, str], Published] = {
    ("az_nas", "cifar10", ALL): Published(0.913, 0.741, "AZ-NAS notebook"),
    ("az_nas", "cifar100", ALL): Published(0.899, 0.722, "VKDNW re-run"),
    ("az_nas", "ImageNet16-120", ALL): Published(0.876, 0.694, "VKDNW re-run"),
    ("az_nas", "cifar10", VALID): Published(0.892, 0.712, "VKDNW Table 1", False),
    ("az_nas", "cifar100", VALID): Published(0.880, 0.696, "VKDNW Table 1", False),
    ("az_nas", "ImageNet16-120", VALID): Published(0.859, 0.673, "VKDNW Table 1", False),
    ("zico", "cifar10", ALL): Published(0.785, 0.590, "VKDNW re-run"),
    ("zico", "cifar100", ALL): Published(0.794, 0.600, "VKDNW re-run"),
    ("zico", "ImageNet16-120", ALL): Published(0.787, 0.594, "VKDNW re-run"),
    ("zico", "cifar10", VALID): Published(0.802, 0.607, "VKDNW Table 1", False),
    ("zico", "cifar100", VALID): Published(0.809, 0.614, "VKDNW Table 1", False),
    ("zico", "ImageNet16-120", VALID): Published(0.779, 0.587, "VKDNW Table 1", False),
    ("zen", "cifar10", ALL): Published(0.321, 0.244, "VKDNW re-run"),
    ("zen", "cifar100", ALL): Published(0.300, 0.232, "VKDNW re-run"),
    ("zen", "ImageNet16-120", ALL): Published(0.344, 0.250, "VKDNW re-run"),
    ("zen", "cifar10", VALID): Published(0.103, 0.102, "VKDNW Table 1", False),
    ("zen", "cifar100", VALID): Published(0.072, 0.079, "VKDNW Table 1", False),
    ("zen", "ImageNet16-120", VALID): Published(0.109, 0.091, "VKDNW Table 1", False),
    ("meco", "cifar10", ALL): Published(0.89, None, "MeCo abstract (cifar10-valid test acc)"),
    ("swap_reg", "cifar100", ALL): Published(0.90, None, "SWAP abstract (validation acc; mu, sigma unverified)"),
    ("vkdnw_single", "cifar10", VALID): Published(0.815, 0.618, "VKDNW Table 1"),
    ("vkdnw_single", "cifar100", VALID): Published(0.829, 0.634, "VKDNW Table 1"),
    ("vkdnw_single", "ImageNet16-120", VALID): Published(0.814, 0.622, "VKDNW Table 1"),
    ("vkdnw_agg", "cifar10", VALID): Published(0.919, 0.750, "VKDNW Table 1"),
    ("vkdnw_agg", "cifar100", VALID): Published(0.919, 0.753, "VKDNW Table 1"),
    ("vkdnw_agg", "ImageNet16-120", VALID): Published(0.906, 0.743, "VKDNW Table 1"),
    ("vkdnw_agg", "cifar10", ALL): Published(0.911, 0.740, "VKDNW notebook, older run", False),
    ("vkdnw_agg", "cifar100", ALL): Published(0.905, 0.735, "VKDNW notebook, older run", False),
    ("vkdnw_agg", "ImageNet16-120", ALL): Published(0.893, 0.722, "VKDNW notebook, older run", False),
    ("vkdnw_aleph", "cifar10", VALID): Published(0.767, 0.626, "VKDNW Table 1", False),
    ("vkdnw_aleph", "cifar100", VALID): Published(0.787, 0.646, "VKDNW Table 1", False),
    ("vkdnw_aleph", "ImageNet16-120", VALID): Published(0.764, 0.623, "VKDNW Table 1", False),
    ("vkdnw_jacov", "cifar10", VALID): Published(0.800, 0.616, "VKDNW Table 1", False),
    ("vkdnw_jacov", "cifar100", VALID): Published(0.820, 0.639, "VKDNW Table 1", False),
    ("vkdnw_jacov", "ImageNet16-120", VALID): Published(0.779, 0.602, "VKDNW Table 1", False),
    ("flops", "cifar10", VALID): Published(0.799, 0.623, "VKDNW Table 1", False),
    ("flops", "cifar100", VALID): Published(0.763, 0.586, "VKDNW Table 1", False),
    ("flops", "ImageNet16-120", VALID): Published(0.718, 0.545, "VKDNW Table 1", False),
}

#: single metrics reported (metric, mode); aggregates are added by :func:`aggregates`
SINGLE = [("az_expressivity", "reference"), ("az_progressivity", "reference"), ("az_trainability", "reference"),
          ("az_complexity", "reference"), ("zico", "reference"), ("plain", "default"), ("epe_nas", "default"),
          ("l2_norm", "default"), ("meco", "reference"), ("meco", "opt"), ("swap", "default"), ("swap_reg", "default"),
          ("zen", "default"), ("vkdnw", "reference"), ("vkdnw_aleph", "default"), ("vkdnw_jacov", "default"),
          ("flops", "default"), ("params", "default")]


def load(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ok scores of space nb201: metric, mode, num_classes, arch_index, arch, value; accuracies)."""
    scores = store.read("scores").to_pandas()
    scores = scores[(scores["space"] == "nb201") & (scores["status"] == "ok") & (scores["space_options"] == "")]
    accuracies = store.read("accuracies").to_pandas()
    accuracies = accuracies[(accuracies["space"] == "nb201") & (accuracies["epochs"] == 200)]
    return scores, accuracies


def metric_values(scores: pd.DataFrame, metric: str, mode: str, num_classes: int) -> pd.Series:
    """arch_index -> value for ``metric``/``mode`` with the dataset's head, else the 10-class head's."""
    rows = scores[(scores["metric"] == metric) & (scores["mode"] == mode)]
    for head in dict.fromkeys((num_classes, 10)):
        chosen = rows[rows["num_classes"] == head]
        if len(chosen):
            return chosen.groupby("arch_index")["value"].first()
    return pd.Series(dtype=float)


def ranks(values: pd.Series) -> pd.Series:
    """Ascending average ranks, -inf lowest (scipy ``rankdata``)."""
    return pd.Series(stats.rankdata(values.to_numpy()), index=values.index)


def dense_pair_rank(first: pd.Series, second: pd.Series) -> pd.Series:
    """VKDNW_single: dense rank of (first, second) in lexicographic ascending order."""
    frame = pd.DataFrame({"a": first, "b": second}).dropna()
    order = frame.sort_values(["a", "b"])
    keys = list(zip(order["a"], order["b"]))
    dense, current, previous = [], 0, None
    for key in keys:
        if key != previous:
            current += 1
            previous = key
        dense.append(current)
    return pd.Series(dense, index=order.index, dtype=float).reindex(frame.index)


def aggregates(scores: pd.DataFrame, num_classes: int, pool: pd.Index) -> dict[str, pd.Series]:
    """AZ-NAS, VKDNW_single and VKDNW_agg over the cells of ``pool`` that have every component."""
    get = {name: metric_values(scores, name, mode, num_classes) for name, mode in
           [("az_expressivity", "reference"), ("az_progressivity", "reference"), ("az_trainability", "reference"),
            ("vkdnw", "reference"), ("vkdnw_aleph", "default"), ("vkdnw_jacov", "default")]}
    flops = metric_values(scores, "flops", "default", num_classes)
    if flops.empty:
        flops = metric_values(scores, "az_complexity", "reference", num_classes)
    get["flops"] = flops
    out: dict[str, pd.Series] = {}

    def common(names: list[str]) -> pd.Index:
        index = pool
        for name in names:
            index = index.intersection(get[name].index)
        return index

    az = ["az_expressivity", "az_progressivity", "az_trainability", "flops"]
    cells = common(az)
    if len(cells):
        out["az_nas"] = sum(np.log(ranks(get[n].loc[cells]) / len(cells)) for n in az)
    single = ["vkdnw_aleph", "vkdnw"]
    cells = common(single)
    if len(cells):
        out["vkdnw_single"] = dense_pair_rank(get["vkdnw_aleph"].loc[cells], get["vkdnw"].loc[cells])
    agg = single + ["az_expressivity", "az_trainability", "flops", "vkdnw_jacov"]
    cells = common(agg)
    if len(cells):
        dense = dense_pair_rank(get["vkdnw_aleph"].loc[cells], get["vkdnw"].loc[cells])
        out["vkdnw_agg"] = np.log(dense) + sum(np.log(ranks(get[n].loc[cells]))
                                               for n in ["az_expressivity", "az_trainability", "flops", "vkdnw_jacov"])
    return out


def published_for(proxy: str, dataset: str, cell_set: str, valid_key: bool) -> Published | None:
    """The published row to compare with; MeCo's is against the cifar10-valid key, every other one not."""
    found = PUBLISHED.get((proxy, dataset, cell_set))
    return found if found is not None and (proxy == "meco") == valid_key else None


def correlate(values: pd.Series, accuracy: pd.Series) -> tuple[float, float, int]:
    """(Spearman rho, Kendall tau-b, n) over the cells both have; -inf ranks lowest."""
    both = pd.concat([values.rename("v"), accuracy.rename("a")], axis=1, join="inner").dropna()
    if len(both) < 3:
        return math.nan, math.nan, len(both)
    v = both["v"].to_numpy(dtype=float)
    finite = v[np.isfinite(v)]
    low = (finite.min() - 1.0) if finite.size else 0.0
    v = np.where(np.isneginf(v), low, np.where(np.isposinf(v), (finite.max() + 1.0) if finite.size else 0.0, v))
    rho = stats.spearmanr(v, both["a"]).statistic
    tau = stats.kendalltau(v, both["a"]).statistic
    return float(rho), float(tau), len(both)


def table(store: Store) -> pd.DataFrame:
    scores, accuracies = load(store)
    arch_of = scores.groupby("arch_index")["arch"].first()
    valid = pd.Index([i for i, a in arch_of.items() if is_dead_branch_free(parse_cell(a))])
    rows = []
    for dataset, (num_classes, (acc_dataset, split)) in DATASETS.items():
        per_target = {"": (acc_dataset, split)}
        if dataset == "cifar10":
            per_target["cifar10-valid"] = C10_VALID
        for suffix, (acc_name, acc_split) in per_target.items():
            acc = accuracies[(accuracies["dataset"] == acc_name) & (accuracies["split"] == acc_split)]
            accuracy = acc.groupby("arch_index")["accuracy"].first()
            series: dict[str, pd.Series] = {}
            for metric, mode in SINGLE:
                values = metric_values(scores, metric, mode, num_classes)
                if not values.empty:
                    series[metric if mode in ("reference", "default") else f"{metric}:{mode}"] = values
            for cell_set, pool in ((ALL, arch_of.index), (VALID, valid)):
                pooled = dict(series)
                pooled.update(aggregates(scores, num_classes, pool))
                for proxy, values in pooled.items():
                    rho, tau, n = correlate(values.loc[values.index.intersection(pool)], accuracy)
                    published = published_for(proxy, dataset, cell_set, bool(suffix))
                    rows.append({
                        "proxy": proxy, "dataset": dataset + (f" ({suffix})" if suffix else ""), "cells": cell_set,
                        "n": n, "rho": rho, "tau": tau,
                        "published_rho": published.rho if published else math.nan,
                        "published_tau": published.tau if published and published.tau is not None else math.nan,
                        "diff_rho": rho - published.rho if published else math.nan,
                        "gated": bool(published and published.gated),
                        "source": published.source if published else "",
                    })
    return pd.DataFrame(rows)


def format_table(frame: pd.DataFrame) -> str:
    lines = [f"{'proxy':<22}{'dataset':<28}{'cells':<7}{'n':>6}{'rho':>8}{'tau':>8}{'pub rho':>9}{'diff':>8}  source"]
    for row in frame.itertuples():
        def f(value: float) -> str:
            return "-" if math.isnan(value) else f"{value:.3f}"
        gate = "" if not row.source else (" [gate: |diff| <= 0.03]" if row.gated else " [reported]")
        lines.append(f"{row.proxy:<22}{row.dataset:<28}{row.cells:<7}{row.n:>6}{f(row.rho):>8}{f(row.tau):>8}"
                     f"{f(row.published_rho):>9}{f(row.diff_rho):>8}  {row.source}{gate}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="/work/stores/proxies")
    parser.add_argument("--csv", default=None, help="also write the table as CSV here")
    args = parser.parse_args(argv)
    frame = table(Store(args.store))
    print(format_table(frame))
    if args.csv:
        frame.to_csv(args.csv, index=False)
    def clean(value: float) -> float | None:
        return None if math.isnan(value) else round(float(value), 4)

    summary = {f"{r.proxy}/{r.dataset}/{r.cells}": [clean(r.rho), clean(r.published_rho), clean(r.diff_rho)]
               for r in frame.itertuples() if r.source}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
