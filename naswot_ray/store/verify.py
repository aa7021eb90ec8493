"""``store verify``: read every part of every table in full and check the store as a whole.

What it checks, and why each: every part is readable (a reader skips an unreadable part silently but
for a warning, so its rows are missing without anyone noticing); no score key is stored twice
(readers cope, but each duplicate is a run that scored something twice, and ``store compact``
removes them); every run's ``runs`` row matches the rows it claims (a finished run holds rows of
exactly the architectures it says it scored or failed; rows ``store compact`` dropped in favour of
another run's are counted from the ``superseded`` table); no staged part or unfinished upload is
older than a day (a crashed writer's leftover). Runs still live, crashed runs, quarantined parts and
young staged parts are notes, not problems.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.fs as pafs

from naswot_ray.store import files
from naswot_ray.store.files import LEFTOVER_AGE_SECONDS
from naswot_ray.store.heartbeat import COMPACT_PREFIX, STALE_AFTER_SECONDS, age_of, heartbeat_files, run_state
from naswot_ray.store.parquet_store import Store
from naswot_ray.store.reader import classify, one_line
from naswot_ray.store.schema import TABLE_SCHEMAS, identity_columns, ranking_columns

#: tables whose duplicate identities are a problem (elsewhere a newer row replacing an older one is normal)
UNIQUE_TABLES = ("scores",)


@dataclass
class TableCheck:
    table: str
    parts: int = 0
    rows: int = 0
    identities: int = 0
    #: rows beyond the first of each identity
    extra_rows: int = 0

    def line(self) -> str:
        unique = self.table in UNIQUE_TABLES
        extra = (f", {self.extra_rows:,} {'duplicate' if unique else 'superseded'} rows" if self.extra_rows else "")
        return (f"{self.table}: {self.parts} parts, {self.rows:,} rows, {self.identities:,} distinct "
                f"{'keys' if unique else 'identities'}{extra}")


@dataclass
class VerifyReport:
    root: str
    tables: list[TableCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [check.line() for check in self.tables]
        out += [f"note: {n}" for n in self.notes]
        out += [f"problem: {p}" for p in self.problems]
        verdict = "OK" if self.ok else f"{len(self.problems)} problem(s)"
        out.append(f"store {self.root}: {verdict}")
        return out


def verify(store: Store, *, stale_after: float = STALE_AFTER_SECONDS,
           leftover_age: float = LEFTOVER_AGE_SECONDS) -> VerifyReport:
    """Read every part of every table in full and check the store (module docstring of the CLI)."""
    report = VerifyReport(store.root)
    kept: dict[str, pa.Table] = {}
    for table in store.tables():
        check, rows = _check_table(store, table, report)
        report.tables.append(check)
        kept[table] = rows
        _check_leftovers(store, table, leftover_age, report)
    _check_runs(store, kept, stale_after, report)
    for name, info in heartbeat_files(store.fs, store.base).items():
        if name.startswith(COMPACT_PREFIX) and age_of(info) <= stale_after:
            report.notes.append(f"a `store compact` is running ({name[len(COMPACT_PREFIX):]}): duplicate rows and "
                                "part counts are changing under this check")
    return report


def _check_table(store: Store, table: str, report: VerifyReport) -> tuple[TableCheck, pa.Table]:
    schema = TABLE_SCHEMAS[table]
    keep = list(dict.fromkeys(ranking_columns(table) + _accounting_columns(table)))
    check = TableCheck(table)
    pieces = []
    for path in store.part_files(table):
        try:
            part = store.read_part(path, table)
        except Exception as exc:
            kind = classify(exc)
            if kind == "vanished":
                continue
            report.problems.append(f"{store.relative(path)} is unreadable ({kind}: {one_line(exc)})")
            continue
        check.parts += 1
        check.rows += part.num_rows
        pieces.append(part.select(keep))
    rows = pa.concat_tables(pieces) if pieces else schema.empty_table().select(keep)
    ident = identity_columns(table)
    import duckdb

    con = duckdb.connect()
    con.register("t", rows)
    distinct, extra = con.execute(
        f"SELECT count(*), coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM t GROUP BY {', '.join(ident)})"
    ).fetchone()
    check.identities, check.extra_rows = int(distinct), int(extra)
    if extra and table in UNIQUE_TABLES:
        report.problems.append(f"{table}: {extra:,} duplicate rows of {table} keys (readers pick one; "
                               "`naswot-ray store compact` removes the others)")
    elif extra and table not in ("runs", "superseded"):
        report.notes.append(f"{table}: {extra:,} rows replaced by newer ones (`store compact` removes them)")
    return check, rows


def _accounting_columns(table: str) -> list[str]:
    return {"scores": ["run_id", "arch_index"], "superseded": ["run_id", "arch_index"],
            "searches": ["run_id"]}.get(table, [])


def _check_leftovers(store: Store, table: str, leftover_age: float, report: VerifyReport) -> None:
    now = time.time()
    young = 0
    for info in store.part_infos(table):
        if info.type == pafs.FileType.Directory and info.base_name == "quarantine":
            count = len(files.list_dir(store.fs, info.path))
            report.notes.append(f"{table}: {count} quarantined part(s) in {store.relative(info.path)}")
        elif files.is_leftover(info):
            age = now - info.mtime.timestamp() if info.mtime is not None else float("inf")
            if age > leftover_age:
                report.problems.append(f"{store.relative(info.path)}: a staged part or unfinished upload "
                                       f"{age / 3600:.0f} h old (a crashed writer's; `store compact` deletes it)")
            else:
                young += 1
    if young:
        report.notes.append(f"{table}: {young} staged part(s) or upload(s) in flight (younger than a day)")


def _check_runs(store: Store, tables: dict[str, pa.Table], stale_after: float, report: VerifyReport) -> None:
    runs = tables.get("runs")
    if runs is None or runs.num_rows == 0:
        return
    full = store.latest("runs")
    scores_held = _archs_by_run([tables.get("scores"), tables.get("superseded")])
    searches = tables.get("searches")
    search_rows: dict[str, int] = defaultdict(int)
    if searches is not None:
        for run_id in searches.column("run_id").to_pylist():
            search_rows[run_id] += 1
    known = set()
    for run in sorted(full.to_pylist(), key=lambda r: r["run_id"]):
        run_id, status = run["run_id"], run["status"]
        known.add(run_id)
        label = f"run {run_id} ({run['command'] or 'score-all'}, {status})"
        if status == "running":
            state = run_state(store.fs, store.base, run, stale_after)
            if state.live:
                report.notes.append(f"{state.describe()} is running")
            else:
                report.notes.append(f"{state.describe()} never finished (crashed); it holds rows of "
                                    f"{len(scores_held.get(run_id, ()))} architectures")
            continue
        scored, failed = run["scored"] or 0, run["failed"] or 0
        if (run["command"] or "").startswith("search"):
            held = search_rows.get(run_id, 0)
            if status == "finished" and held != scored:
                report.problems.append(f"{label} claims {scored} search rows; the store holds {held}")
            continue
        claimed = scored + failed
        held = len(scores_held.get(run_id, ()))
        if status == "finished":
            if held != claimed:
                report.problems.append(f"{label} claims {scored} scored + {failed} failed architectures; "
                                       f"the store holds rows of {held}")
            accounted = (run["skipped"] or 0) + claimed
            if run["requested"] is not None and run["requested"] != accounted:
                report.problems.append(f"{label} requested {run['requested']} architectures but accounts for "
                                       f"{accounted} (already stored {run['skipped']}, scored {scored}, failed {failed})")
        elif held > claimed:
            report.problems.append(f"{label} claims {claimed} architectures; the store holds rows of {held}")
        elif held < claimed:
            report.notes.append(f"{label} claims {claimed} architectures; the store holds rows of {held} "
                                "(rows it had not written when it ended)")
    orphans = sorted(r for r in scores_held if r and r not in known)
    if orphans:
        report.notes.append(f"scores: rows of {len(orphans)} run(s) with no runs row (e.g. {orphans[0]})")


def _archs_by_run(tables: list[pa.Table | None]) -> dict[str, set[int]]:
    held: dict[str, set[int]] = defaultdict(set)
    for table in tables:
        if table is None or table.num_rows == 0:
            continue
        for run_id, index in zip(table.column("run_id").to_pylist(), table.column("arch_index").to_pylist()):
            held[run_id].add(index)
    return held




__all__ = ["TableCheck", "UNIQUE_TABLES", "VerifyReport", "verify"]
