"""The whole analysis: join, statistics, figures, and the files a user takes away.

``analyze`` returns the correlation table and, when given an output directory, writes
``correlations.csv``, one ``scatter_<space>_<metric>.png`` per space and metric variant (Figure 3
style), one ``tau_<protocol>.png`` bar chart per protocol (Figure 4 style), ``report.md`` (links the
PNGs) and ``report.html`` (self-contained: the PNGs are embedded as base64, so the file can be mailed
or attached to an issue), and ``ensembles.csv`` when ensembles were asked for. Every file is written to
a temporary name and renamed into place. The names written are recorded in ``.naswot-analyze.json`` in
the folder, so a later run removes the figures of an earlier one that it does not rewrite (a metric no
longer analysed) and never touches any other file there.

Everything computed is a function of the store's contents and the options only (rows are sorted after
the join, ensembles and tables are ordered by name), so the same store and options give the same
tables and the same ``correlations.csv`` byte for byte, whatever the part files' names or order.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from naswot_ray.analysis import ensembles as ens
from naswot_ray.analysis.ensemble_search import SearchResult, Split, auto_ensembles
from naswot_ray.analysis.ensemble_summary import ensemble_summary, format_summary, format_summary_markdown
from naswot_ray.analysis.join import Filters, Joined, load_joined
from naswot_ray.analysis.plots import Panel, save_png, scatter_figure, tau_bar_figure
from naswot_ray.analysis.stats import CI_METHODS, PROTOCOLS
from naswot_ray.analysis.tables import MIN_RELIABLE_N, CorrelationTable, correlation_table, format_markdown, small_samples
from naswot_ray.ensembles import Spec
from naswot_ray.errors import InputError
from naswot_ray.store import Store


@dataclass
class AnalysisOptions:
    filters: Filters = field(default_factory=Filters)
    protocols: Sequence[str] = ("all",)
    ci: str = "auto"
    resamples: int = 200
    seed: int = 1
    plots: bool = True
    digits: int = 3
    #: ``ensemble:...`` names to add as variants (naswot_ray/ensembles/spec.py)
    ensembles: Sequence[str] = ()
    #: also search ensembles on a seeded half of the cells and report the best this-many on the other
    #: half (0: no search)
    auto_ensembles: int = 0
    #: DATASET:SPLIT:EPOCHS[,...] the ensemble search and summary use (None: ensembles.default_target)
    ensemble_target: str | None = None

    def __post_init__(self) -> None:
        for protocol in self.protocols:
            if protocol not in PROTOCOLS:
                raise InputError(f"unknown protocol {protocol!r}; valid choices: {', '.join(PROTOCOLS)}, both")
        if self.ci not in CI_METHODS:
            raise InputError(f"unknown CI method {self.ci!r}; valid choices: {', '.join(CI_METHODS)}")
        if self.resamples < 0:
            raise InputError(f"--bootstrap must be >= 0, got {self.resamples}")
        for text in self.ensembles:
            ens.parse_ensemble(text)
        if self.auto_ensembles < 0:
            raise InputError(f"the number of searched ensembles must be >= 0, got {self.auto_ensembles}")
        if self.ensemble_target is not None:
            for part in self.ensemble_target.split(","):
                ens.Target.parse(part.strip())


@dataclass
class AnalysisResult:
    table: CorrelationTable
    files: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    #: scored spaces that matched no accuracy (nothing imported for them, or different records)
    unjoined_spaces: list[str] = field(default_factory=list)
    #: each ensemble's rho next to its best member's (None when no ensemble was asked for)
    ensembles: pd.DataFrame | None = None
    #: how --ensembles auto chose and where it reports (None without the search)
    ensemble_note: str | None = None

    @property
    def small_samples(self) -> pd.DataFrame:
        """Correlations resting on fewer than MIN_RELIABLE_N architectures."""
        return small_samples(self.table.frame)


def analyze(store: Store, options: AnalysisOptions, out: Path | None = None) -> AnalysisResult:
    """Join, correlate, and (with ``out``) write the report files; timings per phase in seconds."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    joined = load_joined(store, options.filters)
    timings["join"] = time.perf_counter() - start
    start = time.perf_counter()
    joined, summary, note = _with_ensembles(joined, options)
    if summary is not None:
        timings["ensembles"] = time.perf_counter() - start
        start = time.perf_counter()
    table = correlation_table(joined, options.protocols, ci=options.ci, resamples=options.resamples, seed=options.seed)
    timings["statistics"] = time.perf_counter() - start
    result = AnalysisResult(table, timings=timings, unjoined_spaces=joined.unjoined_spaces, ensembles=summary,
                            ensemble_note=note)
    if out is None:
        return result
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    images = _write_figures(table, options, out) if options.plots else []
    timings["plots"] = time.perf_counter() - start
    start = time.perf_counter()
    csv_path = out / "correlations.csv"
    _atomic_write(csv_path, table.frame.to_csv(index=False, float_format="%.12g"))
    md_path = out / "report.md"
    _atomic_write(md_path, _markdown(store, table, options, images, summary, note))
    html_path = out / "report.html"
    _atomic_write(html_path, _html(store, table, options, images, summary, note))
    result.files = [csv_path, md_path, html_path, *images]
    if summary is not None:
        summary_path = out / "ensembles.csv"
        _atomic_write(summary_path, summary.to_csv(index=False, float_format="%.12g"))
        result.files.append(summary_path)
    _forget_stale(out, result.files)
    timings["report"] = time.perf_counter() - start
    return result


MANIFEST = ".naswot-analyze.json"


def _forget_stale(out: Path, written: Sequence[Path]) -> None:
    """Remove what an earlier analyze wrote to ``out`` and this one did not rewrite; record this run's files.

    Only names listed in the folder's manifest (files analyze itself wrote) are ever removed.
    """
    manifest = out / MANIFEST
    names = sorted(p.name for p in written)
    try:
        earlier = json.loads(manifest.read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        earlier = []
    for name in earlier:
        if isinstance(name, str) and name not in names and "/" not in name and os.sep not in name:
            (out / name).unlink(missing_ok=True)
    _atomic_write(manifest, json.dumps({"written_by": "naswot-ray analyze", "files": names}, indent=1) + "\n")


def _with_ensembles(joined: Joined, options: AnalysisOptions) -> tuple[Joined, pd.DataFrame | None, str | None]:
    """Add the asked-for ensembles (on every cell) and the searched ones (on the held-out half) as variants;
    summarise each against its members, and the search's choices next to the published aggregates."""
    requested = {spec.label: spec for spec in (ens.parse_ensemble(text) for text in options.ensembles)}
    specs = [requested[label] for label in sorted(requested)]
    if not specs and not options.auto_ensembles:
        return joined, None, None
    targets = ens.parse_targets(options.ensemble_target, joined.rows)
    data = ens.space_data(joined)
    summaries = [ensemble_summary(joined, specs, targets, data=data)] if specs else []
    extended = ens.add_ensembles(joined, specs, data=data)
    note = None
    if options.auto_ensembles:
        found, splits, results = auto_ensembles(data, targets, top=options.auto_ensembles, seed=options.seed)
        held = {space: split.held_out for space, split in splits.items()}
        chosen = [f.spec for f in found]
        extended = ens.add_ensembles(extended, [s for s in chosen if s.label not in requested], cells=held, data=data)
        references = [s for s in [*ens.available_presets(joined, targets, data), *specs]
                      if s.label not in {c.label for c in chosen}]
        references = list({s.label: s for s in references}.values())
        summaries.append(ensemble_summary(joined, [*chosen, *references], targets, cells=held,
                                          cells_name="held-out",
                                          selection_rho={f.spec.label: f.selection_rho for f in found}, data=data,
                                          same_cells=True))
        note = _search_note(options, targets, chosen, splits, results)
    summary = pd.concat(summaries, ignore_index=True) if summaries else None
    return extended, summary, note


def _search_note(options: AnalysisOptions, targets: Sequence[ens.Target], chosen: Sequence[Spec],
                 splits: dict[str, Split], results: dict[str, SearchResult]) -> str:
    """What --ensembles auto did, in the words the report and the terminal print."""
    halves = "; ".join(
        f"{space}: {len(split.selection)} cells chosen on ("
        + ", ".join(f"{n} compared for {label}" for label, n in results[space].pool.items()) + "), "
        f"{len(split.held_out)} reported on"
        + (f"; left out of the search, scored on fewer than half the selection cells: "
           f"{', '.join(results[space].left_out)}" if results[space].left_out else "")
        for space, split in splits.items())
    return (f"--ensembles auto chose its {len(chosen)} ensemble(s) on a seeded half of the cells (seed "
            f"{options.seed}) by mean Spearman rho over {', '.join(t.label for t in targets)}, and reports them on "
            f"the other half only, next to the stored published aggregates, all on the held-out cells every one of "
            f"them covers ({halves})")


def _write_figures(table: CorrelationTable, options: AnalysisOptions, out: Path) -> list[Path]:
    frame = table.frame
    protocol = options.protocols[0]
    images = []
    shown = frame[frame["protocol"] == protocol]
    for (space, metric), group in shown.groupby(["space", "metric"], sort=True):
        panels = [Panel(r.dataset, r.split, int(r.epochs), protocol,
                        table.selections[(space, metric, r.dataset, r.split, int(r.epochs), protocol)], r.kendall_tau)
                  for r in group.itertuples(index=False)]
        fig = scatter_figure(space, metric, group["value_scale"].iloc[0], panels)
        images.append(save_png(fig, out / f"scatter_{_slug(space)}_{_slug(metric)}.png"))
    for protocol_name in options.protocols:
        images.append(save_png(tau_bar_figure(frame, protocol_name), out / f"tau_{protocol_name}.png"))
    return images


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _header_lines(store: Store, table: CorrelationTable, options: AnalysisOptions) -> list[str]:
    frame = table.frame
    small = small_samples(frame)
    lines = [
        f"store: {store.root}",
        f"generated: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"protocols: {', '.join(options.protocols)} (all = every scored architecture: error rows dropped, a metric's "
        f"legal -inf ranked lowest; paper = NASWOT Figure 3: accuracy > 15 %, scores != 0, "
        f"1000-point subsample with seed {options.seed}, NaN dropped, -inf kept)",
        f"confidence intervals: 95 %, {', '.join(sorted(set(frame['ci_method'])))} "
        f"(bootstrap: {options.resamples} resamples, seed {options.seed})",
        f"{len(frame)} correlations over {frame['space'].nunique()} space(s), {frame['metric'].nunique()} metric(s)",
    ]
    if options.filters.match_heads:
        lines.append("heads: a metric scored with several head sizes is read through the head matching each "
                     "dataset's class count")
    if len(small):
        lines.append(small_sample_warning(frame))
    return lines


def small_sample_warning(frame: pd.DataFrame) -> str:
    """One line: how many correlations rest on fewer than MIN_RELIABLE_N architectures."""
    small = small_samples(frame)
    worst = small.sort_values("n", kind="mergesort").iloc[0]
    return (f"{len(small)} of {len(frame)} correlations rest on fewer than {MIN_RELIABLE_N} architectures "
            f"(smallest: n={int(worst['n'])}, {worst['metric']} vs {worst['dataset']}:{worst['split']}); "
            "their tau and rho are rough")


def _markdown(store: Store, table: CorrelationTable, options: AnalysisOptions, images: list[Path],
              ensembles: pd.DataFrame | None = None, note: str | None = None) -> str:
    lines = ["# naswot-ray: score vs trained accuracy", ""]
    lines += [f"- {line}" for line in _header_lines(store, table, options)]
    lines += ["", format_markdown(table.frame, options.digits), ""]
    if ensembles is not None:
        lines += ["## Ensembles vs their best member", "", _ENSEMBLE_NOTE, ""]
        lines += [note, ""] if note else []
        lines += [format_summary_markdown(ensembles, options.digits), ""]
    for image in images:
        lines += [f"![{image.stem}]({image.name})", ""]
    return "\n".join(lines)


_CSS = """
body { font-family: sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; margin: 12px 0; border: 1px solid #eee; }
"""


_ENSEMBLE_NOTE = ("Training-free rank aggregations of stored scores (no accuracy enters a value), each over the "
                  "architectures where every member has a usable score (a legal -inf ranks lowest); sign-aware "
                  "Spearman rho of the ensemble and of each member on those architectures.")


def _html(store: Store, table: CorrelationTable, options: AnalysisOptions, images: list[Path],
          ensembles: pd.DataFrame | None = None, note: str | None = None) -> str:
    from naswot_ray.analysis.tables import HEADERS, display_rows

    numeric = {4, 6, 7, 8, 9}
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADERS)
    body = "\n".join("<tr>" + "".join(f"<td{' class=num' if i in numeric else ''}>{html.escape(c)}</td>"
                                      for i, c in enumerate(row)) + "</tr>"
                     for row in display_rows(table.frame, options.digits))
    figures = "\n".join(f'<h3>{html.escape(image.stem)}</h3>\n<img alt="{html.escape(image.stem)}" '
                        f'src="data:image/png;base64,{base64.b64encode(image.read_bytes()).decode()}">'
                        for image in images)
    header = "".join(f"<li>{html.escape(line)}</li>" for line in _header_lines(store, table, options))
    ensemble_html = ""
    if ensembles is not None:
        note_html = f"<p>{html.escape(note)}</p>\n" if note else ""
        ensemble_html = (f"<h2>Ensembles vs their best member</h2>\n<p>{html.escape(_ENSEMBLE_NOTE)}</p>\n{note_html}"
                         f"<pre>{html.escape(format_summary(ensembles, options.digits))}</pre>\n")
    return (f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>naswot-ray report</title>"
            f"<style>{_CSS}</style></head><body>\n<h1>naswot-ray: score vs trained accuracy</h1>\n<ul>{header}</ul>\n"
            f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>\n{ensemble_html}{figures}\n"
            "</body></html>\n")


def read_correlations(path: Path) -> pd.DataFrame:
    """Load a correlations.csv written by :func:`analyze` (for scripts and tests)."""
    return pd.read_csv(path)


__all__ = ["MANIFEST", "AnalysisOptions", "AnalysisResult", "analyze", "read_correlations", "small_sample_warning"]
