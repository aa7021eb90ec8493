# %% [markdown]
# # A store in pandas: scores against trained accuracy
#
# Notebook-style script (each `# %%` is a cell in VS Code / Jupytext). It needs a store holding scores and
# imported accuracies, e.g. from the README's commands:
#
#     naswot-ray score-all --space nb201 --metrics naswot,synflow --dataset random --limit 500
#     naswot-ray import-benchmark nb201 --format csv --source nb201_merged_200ep.csv ...
#
# then `python examples/store_to_pandas.py --store ./naswot-store --out figures/`.

# %%
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; in a notebook, drop this line to see the figure inline
import matplotlib.pyplot as plt

import naswot_ray as nr

parser = argparse.ArgumentParser(description="Load a store into pandas and plot score against accuracy.")
parser.add_argument("--store", default="./naswot-store")
parser.add_argument("--space", default="nb201")
parser.add_argument("--metric", default="naswot")
parser.add_argument("--accuracy", default=None, help="accuracy column, e.g. acc:cifar10:ori-test:200 (default: the first)")
parser.add_argument("--out", default=".", help="folder for the PNG")
args, _ = parser.parse_known_args()

# %% One row per architecture, one column per metric, one per imported accuracy
frame = nr.load_scores(args.store, space=args.space, with_accuracies=True)
accuracy = args.accuracy or next(c for c in frame.columns if c.startswith("acc:"))
print(frame.head())

# %% How each metric ranks architectures (the same table `naswot-ray analyze` prints)
table = nr.correlations(args.store, space=args.space, ci="none")
print(table[["metric", "dataset", "split", "epochs", "n", "kendall_tau", "spearman_rho"]].to_string(index=False))

# %% Score against accuracy
points = frame[[args.metric, accuracy]].dropna()
fig, ax = plt.subplots(figsize=(4.5, 3.5))
ax.scatter(points[accuracy], points[args.metric], s=6, alpha=0.6)
tau = points[args.metric].corr(points[accuracy], method="kendall")
ax.set(xlabel=accuracy.removeprefix("acc:"), ylabel=args.metric,
       title=f"{args.space}: {args.metric} vs accuracy (tau {tau:.2f}, n {len(points)})")
fig.tight_layout()
out = Path(args.out) / f"{args.space}_{args.metric}_vs_accuracy.png"
out.parent.mkdir(parents=True, exist_ok=True)
fig.savefig(out, dpi=120)
print(f"wrote {out}")
