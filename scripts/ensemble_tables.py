"""Issue 13's tables from scored stores: every proxy side by side, ensembles on the held-out half, Table-2 rows.

1. Every stored proxy (old and new) side by side on the same cells: Spearman rho and Kendall tau against
   CIFAR-10 ori-test, CIFAR-100 x-test and ImageNet16-120 x-test (200 epochs), each dataset read through
   the head matching its class count where a proxy was scored with several.
2. Ensembles: the cells are split by a seeded permutation (analyze --ensembles auto's split); the search
   (``naswot_ray.analysis.ensemble_search``) sees the selection half only and ranks candidates by mean rho
   over the three datasets; the best ensemble, the best single proxy (chosen the same way) and the
   published aggregates (VKDNW_agg, AZ-NAS, VKDNW_single) are then measured on the held-out half, on the
   cells every one of them covers (the same cells), per dataset, with the best ensemble's margin over
   each and a paired bootstrap interval of that margin (whether a win is more than the choice of cells).
3. Table-2 rows: NASWOT Algorithm 1 (N = 10, 100; ``--runs`` runs) with NASWOT, the best single proxy
   and the best ensemble as the score, candidates drawn with ``--within-scored`` from the cells scored by
   every proxy used (a store holding only those cells' scores), each dataset's column from the search
   that reads its head. This departs from the paper, which draws from all 15,625 cells.

No trained accuracy enters any ensemble's value; accuracies only choose among candidates on the
selection half. Usage (several stores are read as one; accuracies come from the first that has them):

    python scripts/ensemble_tables.py --store /work/stores/proxies --store /work/stores/old-proxies \\
        --out /tmp/issue13-tables [--seed 1] [--runs 500] [--top 5] [--no-search] [--leave-out P] [--cells F]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from naswot_ray.analysis.ensemble_search import auto_ensembles  # noqa: E402
from naswot_ray.analysis.ensembles import SpaceData, Target, evaluate_on, resolved_members, space_data  # noqa: E402
from naswot_ray.analysis.join import Filters, load_joined  # noqa: E402
from naswot_ray.analysis.stats import kendall_tau_b, paired_rho_difference_ci, spearman_rho  # noqa: E402
from naswot_ray.ensembles import PRESETS, Spec, Term, parse_spec  # noqa: E402
from naswot_ray.ensembles.variants import DATASET_CLASSES  # noqa: E402
from naswot_ray.errors import InputError  # noqa: E402
from naswot_ray.metrics import parse_metric_list  # noqa: E402
from naswot_ray.store import Store  # noqa: E402

TARGETS = [Target("cifar10", "ori-test", 200), Target("cifar100", "x-test", 200), Target("ImageNet16-120", "x-test", 200)]
REFERENCES = ("vkdnw_agg", "az_nas", "vkdnw_single")
#: published Spearman rho (proxies-sota-spec section 11): VKDNW Table 1 on the 9,445 valid cells, and the
#: AZ-NAS notebook (C10, all 15,625) with VKDNW's re-run (C100, IN16)
PUBLISHED = {"vkdnw_agg": (0.919, 0.919, 0.906), "az_nas": (0.913, 0.899, 0.876), "vkdnw_single": (0.815, 0.829, 0.814)}


# -- one store over several --------------------------------------------------------------------------------
def merged_store(sources: list[str], into: Path) -> Store:
    """A store whose part files are links to the sources' parts (scores and runs of all; accuracies of the
    first source that has them), so several scoring stores are analysed as one without copying."""
    if into.exists():
        shutil.rmtree(into)
    have_accuracies = False
    for k, source in enumerate(sources):
        for table in ("scores", "runs", "accuracies"):
            if table == "accuracies" and have_accuracies:
                continue
            parts = sorted(Path(source, table).glob("part-*.parquet"))
            if parts:
                (into / table).mkdir(parents=True, exist_ok=True)
                have_accuracies |= table == "accuracies"
            for part in parts:
                os.symlink(part.resolve(), into / table / f"part-{k:02d}-{part.name[5:]}")
    if not have_accuracies:
        raise SystemExit("no source store holds accuracies; import them with naswot-ray import-benchmark first")
    return Store(str(into))


# -- 1. every proxy side by side ---------------------------------------------------------------------------
def proxy_table(data: SpaceData, cells: pd.Index | None = None) -> pd.DataFrame:
    """Per metric family and dataset: n, Spearman rho and Kendall tau (sign-aware: positive = ranks like
    accuracy), each family read through the head of each dataset."""
    records = []
    for family in sorted({v.family for v in data.variants.values()}, key=str.lower):
        record: dict = {"proxy": family}
        for target in TARGETS:
            variant = data.find(family, DATASET_CLASSES.get(target.dataset))
            accuracy = data.accuracy.get(target)
            if variant is None or accuracy is None:
                continue
            common = variant.scores.index.intersection(accuracy.index)
            if cells is not None:
                common = common.intersection(cells)
            score, acc = variant.scores.loc[common].to_numpy(), accuracy.loc[common].to_numpy()
            sign = 1.0 if variant.higher_is_better else -1.0
            record[f"{_short(target)} n"] = len(common)
            record[f"{_short(target)} rho"] = sign * spearman_rho(score, acc)
            record[f"{_short(target)} tau"] = sign * kendall_tau_b(score, acc)
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    for column in [c for c in frame.columns if c.endswith(" n")]:
        frame[column] = frame[column].astype("Int64")  # a proxy missing for one dataset must not make n a float
    return frame


def _short(target: Target) -> str:
    return {"cifar10": "C10", "cifar100": "C100", "ImageNet16-120": "IN16"}[target.dataset]


# -- 2. ensembles on the held-out half -----------------------------------------------------------------------
def best_single(data: SpaceData, selection: pd.Index) -> Spec | None:
    """The metric family with the best mean selection-half rho over the three datasets (as a one-term spec)."""
    table = proxy_table(data, selection)
    rho = table[[f"{_short(t)} rho" for t in TARGETS]]
    if rho.empty:
        return None
    mean = rho.mean(axis=1, skipna=False)
    if mean.notna().sum() == 0:
        return None
    return Spec("ranksum", (Term(str(table.loc[mean.idxmax(), "proxy"])),))


def compare_held_out(data: SpaceData, named: dict[str, Spec], held_out: pd.Index, *, seed: int = 1,
                     resamples: int = 1000) -> pd.DataFrame:
    """Per dataset: every named ensemble's rho and tau on the held-out cells all of them cover (pool-relative
    aggregates are evaluated on exactly that pool), each one's rho on its own held-out pool, and how far the
    first named one (the search's best) is above it on the same cells, with a paired bootstrap 95 % interval:
    "beats" means more than the choice of cells only where that interval is above zero."""
    records = []
    first = next(iter(named))
    for target in TARGETS:
        own_values = {}  # each ensemble on all the held-out cells it covers
        for name, spec in named.items():
            try:
                values = evaluate_on(data, spec, target, held_out)
            except InputError:  # a member name that is ambiguous in this store: left out of the comparison
                values = None
            if values is not None and len(values) >= 3:
                own_values[name] = values
        if not own_values:
            continue
        common = held_out
        for values in own_values.values():
            common = common.intersection(values.index)
        accuracy = data.accuracy[target]
        # evaluated again on the common cells, not sliced: pool-relative aggregates depend on the pool
        same = {name: evaluate_on(data, named[name], target, common) for name in own_values}
        for name, spec in named.items():
            if name not in own_values:
                records.append({"dataset": target.dataset, "ensemble": name, "n_same": 0})
                continue
            values, truth = same[name].to_numpy(), accuracy.loc[same[name].index].to_numpy()
            own = own_values[name]
            record = {
                "dataset": target.dataset, "ensemble": name, "definition": _definition(spec), "n_same": len(values),
                "rho_same": spearman_rho(values, truth), "tau_same": kendall_tau_b(values, truth),
                "n_own": len(own), "rho_own": spearman_rho(own.to_numpy(), accuracy.loc[own.index].to_numpy())}
            if first in same:
                best = same[first].loc[same[name].index].to_numpy()
                difference, (lo, hi) = paired_rho_difference_ci(best, values, truth, resamples=resamples, seed=seed)
                record.update({"first_minus": difference, "first_minus_lo": lo, "first_minus_hi": hi})
            records.append(record)
    frame = pd.DataFrame.from_records(records)
    for column in ("n_same", "n_own"):  # counts, printed without decimals
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    return frame


def _definition(spec: Spec) -> str:
    """An ensemble's label; a one-term spec (the best single proxy) is just the proxy's name."""
    return str(spec.terms[0].ref) if len(spec.terms) == 1 else spec.label


# -- 3. Table-2 search rows ------------------------------------------------------------------------------------
def cells_scored_by_all(data: SpaceData, specs: list[Spec]) -> pd.Index:
    """The cells where every member of every spec has a usable score, for every dataset's head."""
    common = data.cells
    for spec in specs:
        for target in TARGETS:
            members = resolved_members(data, spec, target) or {}
            for variant in members.values():
                common = common.intersection(variant.scores.index)
    return common.sort_values()


def read_cells(path: str) -> pd.Index:
    """The architecture indices in ``path`` (comma- or whitespace-separated).

    A file that cannot be read is one line and a non-zero exit, before anything is written."""
    try:
        words = Path(path).read_text().replace(",", " ").split()
        cells = pd.Index(sorted({int(word) for word in words}))
    except (OSError, ValueError) as exc:
        sys.exit(f"--cells: cannot read architecture indices from {path!r}: {exc}")
    if cells.empty:
        sys.exit(f"--cells: {path!r} names no architecture index")
    return cells


def restricted_store(merged: Store, cells: pd.Index, into: Path) -> Store:
    """A store with the accuracies and only the score rows of ``cells`` (so --within-scored draws from them)."""
    if into.exists():
        shutil.rmtree(into)
    (into / "scores").mkdir(parents=True)
    shutil.copytree(Path(merged.root) / "accuracies", into / "accuracies", symlinks=True)
    keep = set(int(i) for i in cells)
    for k, part in enumerate(merged.part_files("scores")):
        table = pq.read_table(part)
        mask = np.isin(table.column("arch_index").to_numpy(), list(keep))
        if mask.any():
            pq.write_table(table.filter(mask), into / "scores" / f"part-{k:05d}.parquet")
    return Store(str(into))


def search_rows(store: Store, scores: dict[str, str], runs: int, seed: int) -> pd.DataFrame:
    """NASWOT Algorithm 1, N = 10 and 100, per score and per dataset (that dataset's head)."""
    from naswot_ray.engine.search_runner import run_search
    from naswot_ray.search import SearchOptions
    from naswot_ray.search.job import SearchJob

    records = []
    for name, metric in scores.items():
        for target in TARGETS:
            job = SearchJob(algorithm="naswot", store=store.root, options=SearchOptions(n=[10, 100]), runs=runs,
                            seed=seed, within_scored=True, metric=metric,
                            num_classes=DATASET_CLASSES[target.dataset] if _has_heads(store, metric, target) else None,
                            executor="local", write=False)
            outcome = run_search(job)
            summary = outcome.summary
            rows = summary[(summary.dataset == target.dataset) & (summary.split == target.split)]
            for row in rows.itertuples(index=False):
                records.append({"score": name, "definition": metric, "N": int(row.n), "dataset": target.dataset,
                                "mean": row.mean, "std": row.std, "runs": int(row.runs),
                                "pool": outcome.prepared.problem.domain.pool.size})
    return pd.DataFrame.from_records(records)


def _has_heads(store: Store, metric: str, target: Target) -> bool:
    """Whether to pass the dataset's head size: always for an ensemble (members with one head ignore it), for a
    metric only when it was scored with that head."""
    if metric.startswith("ensemble:"):
        return True
    con = store.connect(tables=("scores",))
    return con.execute("SELECT count(*) FROM scores WHERE metric = ? AND num_classes = ?",
                       [metric, DATASET_CLASSES[target.dataset]]).fetchall()[0][0] > 0


# -- the report --------------------------------------------------------------------------------------------
def _markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    if frame.empty:
        return "(empty)"
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            if value is pd.NA:
                cells.append("-")
            elif isinstance(value, float):
                cells.append("-" if math.isnan(value) else (f"{value:.{digits}f}" if abs(value) < 100 else f"{value:.2f}"))
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", action="append", required=True, help="A scored store (repeatable).")
    parser.add_argument("--out", required=True, help="Folder for the CSVs, the merged store and the report.")
    parser.add_argument("--seed", type=int, default=1, help="Seed of the selection/held-out split and of the searches.")
    parser.add_argument("--top", type=int, default=5, help="Ensembles kept from the search.")
    parser.add_argument("--runs", type=int, default=500, help="Runs per Table-2 row.")
    parser.add_argument("--no-search", action="store_true", help="Skip the Table-2 search rows.")
    parser.add_argument("--leave-out", action="append", default=[], metavar="PROXY",
                        help="A proxy (or group, e.g. az_nas) the ensemble search may not use (repeatable), e.g. "
                             "one scored on fewer cells, so the Table-2 pool keeps every scored cell; table 1 still "
                             "lists it.")
    parser.add_argument("--cells", metavar="FILE",
                        help="Restrict every table to these architecture indices (a file of comma-separated "
                             "integers), e.g. the cells where a costly proxy exists, so the search may use it.")
    args = parser.parse_args(argv)
    try:  # checked before anything is written; a group name (az_nas) leaves out each of its members
        left_out = parse_metric_list(",".join(args.leave_out)) if args.leave_out else []
    except InputError as exc:
        sys.exit(f"--leave-out: {exc}")
    only = read_cells(args.cells) if args.cells else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    merged = merged_store(args.store, out / "merged-store")
    if only is not None:
        merged = restricted_store(merged, only, out / "cells-store")
    joined = load_joined(merged, Filters(spaces=["nb201"], datasets=[t.dataset for t in TARGETS],
                                         splits=sorted({t.split for t in TARGETS}), epochs=[200]))
    data = space_data(joined)["nb201"]
    report = [f"# Issue 13 tables (stores: {', '.join(args.store)}; seed {args.seed}"
              + (f"; only the {len(only)} cells of {args.cells}" if only is not None else "") + ")", ""]

    table = proxy_table(data)
    table.to_csv(out / "proxies.csv", index=False, float_format="%.6f")
    report += [f"## 1. Every proxy ({len(data.cells)} scored NB201 cells; n = the cells where a proxy has a usable "
               "score for that dataset's head; sign-aware: positive = ranks like accuracy)", "",
               _markdown(table), ""]

    searched = dataclasses.replace(data, variants={name: v for name, v in data.variants.items()
                                                   if v.family not in set(left_out)})
    found, splits, results = auto_ensembles({"nb201": searched}, TARGETS, top=args.top, seed=args.seed)
    split = splits["nb201"]
    single = best_single(searched, split.selection)
    named: dict[str, Spec] = {f"searched #{k + 1}": f.spec for k, f in enumerate(found)}
    if single is not None:
        named["best single proxy"] = single
    for name in REFERENCES:
        named[name] = PRESETS[name]
    chosen = pd.DataFrame([{"rank": k + 1, "ensemble": f.spec.label, "selection mean rho": f.selection_rho,
                            **{f"selection {t}": r for t, r in f.per_target.items()}} for k, f in enumerate(found)])
    chosen.to_csv(out / "ensembles_chosen.csv", index=False, float_format="%.6f")
    compared = compare_held_out(data, named, split.held_out, seed=args.seed)
    compared.to_csv(out / "ensembles_held_out.csv", index=False, float_format="%.6f")
    report += [f"## 2. Ensembles: chosen on {len(split.selection)} cells, reported on the other {len(split.held_out)} "
               f"(seeded split, seed {args.seed})", "",
               f"Chosen on the selection cells every searched proxy covers ({results['nb201'].pool}); left out of the "
               f"search (scored on fewer than half the selection cells): {', '.join(results['nb201'].left_out) or 'none'}"
               + (f"; left out by --leave-out: {', '.join(left_out)}" if left_out else ""),
               "", _markdown(chosen), "",
               "Held-out half; `_same` = on the held-out cells every listed ensemble covers, `_own` = on all the "
               f"held-out cells it covers; `first_minus` = {next(iter(named))}'s rho minus this row's on the same cells, "
               "with a paired bootstrap 95 % interval (`_lo`, `_hi`; 1,000 resamples): above zero = a win beyond "
               "the choice of cells:", "", _markdown(compared), ""]
    published = pd.DataFrame([{"aggregate": k, "C10 rho": v[0], "C100 rho": v[1], "IN16 rho": v[2]}
                              for k, v in PUBLISHED.items()])
    report += ["Published (spec section 11):", "", _markdown(published), ""]

    if not args.no_search and found:
        best = found[0].spec
        scores = {"naswot": "naswot", "best single proxy": single.terms[0].ref if single else None,
                  "best ensemble": best.label}
        scores = {name: metric for name, metric in scores.items() if metric}
        if scores.get("best single proxy") == "naswot":  # the same runs twice: say so once
            scores = {("naswot (= best single proxy)" if k == "naswot" else k): v for k, v in scores.items()
                      if k != "best single proxy"}
        specs = [parse_spec(v) if v.startswith("ensemble:") else Spec("ranksum", (Term(v),)) for v in scores.values()]
        cells = cells_scored_by_all(data, specs)
        restricted = restricted_store(merged, cells, out / "search-store")
        rows = search_rows(restricted, scores, args.runs, args.seed)
        rows.to_csv(out / "search_rows.csv", index=False, float_format="%.6f")
        report += [f"## 3. NASWOT Algorithm 1 ({args.runs} runs; candidates drawn with --within-scored from the "
                   f"{len(cells)} cells scored by every proxy used, not the paper's 15,625)", "", _markdown(rows, 2), ""]
    report.append(f"(computed in {time.perf_counter() - started:.0f} s)")
    (out / "report.md").write_text("\n".join(report) + "\n")
    print("\n".join(report))


if __name__ == "__main__":
    main()
