"""``store compact``: merge small parts into large ones and drop duplicate rows, losing no key.

Why compaction is needed at all: writers never coordinate (each adds its own part files), so a store
collects many small parts, and two runs of one job at the same time both store their keys. Readers
cope (they pick one row per key), but every read pays for the extra files and rows.

Why a crash at any point of a compaction loses no key: compaction never changes a file. Per table it
(1) plans from the key and ranking columns of every part which rows readers would *not* pick
(duplicates) and which parts are small; (2) for ``scores``, first records the dropped rows of other
runs in the ``superseded`` table (so ``verify`` can still match every run to the rows it claims);
(3) writes the merged rows of a batch of parts as new parts (each visible whole or not at all), and
only then (4) deletes that batch's input parts. Until (4) every row exists in its input part; after
(3) every kept row exists in an output part; a dropped row is dropped only in favour of a row that
stays visible. A crash leaves at worst duplicate copies of rows (the next compaction removes them)
and hidden leftovers of unfinished writes (deleted once older than a day). Readers that meet a part
deleted under them list again (:meth:`naswot_ray.store.Store.scan`).

It refuses while a run on the store is live (:mod:`naswot_ray.store.heartbeat`): a run that crashed
stops beating, and counts as ended ``stale_after`` seconds after its last beat. Two compactions must
not overlap (one could drop the copy of a row that the other is deleting the original of), and an
object store has no lock, so a compaction beats too (``_heartbeats/compact-<id>.json``) and, after its
first beat, backs off if another live compaction has a smaller id: of two that start together, exactly
the one with the smaller id goes on.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc

from naswot_ray.errors import EnvironmentProblem
from naswot_ray.store import files
from naswot_ray.store.files import LEFTOVER_AGE_SECONDS
from naswot_ray.store.heartbeat import COMPACT_PREFIX, STALE_AFTER_SECONDS, age_of, heartbeat_files
from naswot_ray.store.parquet_store import Store, query_arrow
from naswot_ray.store.reader import classify, one_line
from naswot_ray.store.schema import TABLE_IDENTITY, identity_columns, ranking_columns

#: rows per compacted part; parts with fewer than half of it are merged
TARGET_ROWS = 500_000
#: extra columns the plan of a table reads (the dropped rows' accounting)
PLAN_EXTRA = {"scores": ["arch_index", "space", "metric"]}
#: output sort order per table: compacted ``scores`` parts hold one space and metric per row group, so a
#: filtered resume read skips the rest by their statistics
SORT_COLUMNS = {"scores": ["space", "metric", "arch_index", "key"]}
#: compaction order: ``superseded`` after ``scores`` (which adds to it)
TABLE_ORDER = ("scores", "superseded", "runs")


@dataclass
class TableCompaction:
    table: str
    parts_in: int = 0
    rows_in: int = 0
    parts_out: int = 0
    rows_out: int = 0
    dropped: int = 0

    def line(self) -> str:
        if not self.parts_in:
            return f"{self.table}: nothing to compact"
        return (f"{self.table}: {self.parts_in} parts ({self.rows_in:,} rows) -> {self.parts_out} parts "
                f"({self.rows_out:,} rows), {self.dropped:,} duplicate rows dropped")


@dataclass
class CompactReport:
    root: str
    tables: list[TableCompaction] = field(default_factory=list)
    leftovers_removed: int = 0
    heartbeats_removed: int = 0
    skipped: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [t.line() for t in self.tables]
        if self.leftovers_removed:
            out.append(f"removed {self.leftovers_removed} staged part(s) or unfinished upload(s) older than a day")
        if self.heartbeats_removed:
            out.append(f"removed {self.heartbeats_removed} heartbeat(s) of ended runs")
        out += [f"warning: {s}" for s in self.skipped]
        return out


Checkpoint = Callable[[str], None]


def compact(store: Store, *, target_rows: int = TARGET_ROWS, stale_after: float = STALE_AFTER_SECONDS,
            leftover_age: float = LEFTOVER_AGE_SECONDS, checkpoint: Checkpoint | None = None) -> CompactReport:
    """Merge small parts and drop duplicate rows, table by table (module docstring).

    ``checkpoint`` is called with a label after every step that changes the store (tests crash the
    process there to prove no key is lost).
    """
    step = checkpoint or (lambda label: None)
    live = [r for r in store.running_runs(stale_after) if r.live]
    if live:
        raise EnvironmentProblem(f"{live[0].describe()} is running on this store; run `store compact` after it "
                                 f"ends (a crashed run counts as ended {stale_after:.0f} s after its last heartbeat)")
    compaction_id = f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S%f}-{uuid.uuid4().hex[:8]}"
    me = f"{COMPACT_PREFIX}{compaction_id}"
    store.start_heartbeat(me)
    try:
        other = sorted(name for name, info in heartbeat_files(store.fs, store.base).items()
                       if name.startswith(COMPACT_PREFIX) and name < me and age_of(info) <= stale_after)
        if other:
            raise EnvironmentProblem(f"another `store compact` ({other[0][len(COMPACT_PREFIX):]}) is running on this "
                                     "store; run it again when that one has ended")
        report = CompactReport(store.root)
        tables = store.tables()
        report.leftovers_removed = _remove_leftovers(store, tables, leftover_age)
        step("leftovers")
        ordered = [t for t in TABLE_ORDER if t in tables or t == "superseded"] + [t for t in tables if t not in TABLE_ORDER]
        for table in ordered:
            if table == "superseded" and "superseded" not in store.tables():
                continue
            report.tables.append(_compact_table(store, table, target_rows, compaction_id, step, report))
        report.heartbeats_removed = _remove_heartbeats(store, stale_after, me)
        step("heartbeats")
    finally:
        store.stop_heartbeat(me)
    return report


def _compact_table(store: Store, table: str, target_rows: int, compaction_id: str, step: Checkpoint,
                   report: CompactReport) -> TableCompaction:
    result = TableCompaction(table)
    plan = _plan(store, table, report)
    if plan is None:
        return result
    parts, sizes, losers = plan
    small = {i for i, n in enumerate(sizes) if n < target_rows // 2}
    rewrite = sorted(small | set(losers))
    if not rewrite or (len(rewrite) == 1 and not losers):
        return result
    step(f"planned:{table}")
    if table == "scores" and losers:
        superseded = _superseded_rows(losers, compaction_id)
        if superseded:
            store.write("superseded", superseded, tag="compact")
            step(f"superseded:{table}")
    for number, batch in enumerate(_batches(rewrite, sizes, target_rows)):
        merged = _merge(store, table, [parts[i] for i in batch], [losers.get(i, {}) for i in batch], report)
        if merged is None:
            continue
        for start in range(0, max(merged.num_rows, 1), target_rows):
            chunk = merged.slice(start, target_rows)
            if chunk.num_rows:
                store.rewrite(table, chunk, tag="compact")
                result.parts_out += 1
                step(f"written:{table}:{number}:{start // target_rows}")
        for position, i in enumerate(batch):
            _delete(store, parts[i])
            step(f"deleted:{table}:{number}:{position}")
        result.parts_in += len(batch)
        result.rows_in += sum(sizes[i] for i in batch)
        result.rows_out += merged.num_rows
        result.dropped += sum(len(losers.get(i, {})) for i in batch)
    return result


def _plan(store: Store, table: str, report: CompactReport
          ) -> tuple[list[str], list[int], dict[int, dict[int, dict]]] | None:
    """(parts, rows per part, {part: {row: loser details}}) from the ranking columns of every readable part."""
    columns = list(dict.fromkeys(ranking_columns(table) + PLAN_EXTRA.get(table, [])))
    parts, sizes, pieces = [], [], []
    for path in store.part_files(table):
        try:
            piece = store.read_part(path, table, columns)
        except Exception as exc:
            if classify(exc) != "vanished":
                report.skipped.append(f"{store.relative(path)} left as it is: unreadable ({one_line(exc)})")
            continue
        index = len(parts)
        parts.append(path)
        sizes.append(piece.num_rows)
        pieces.append(piece.append_column("_part", pa.array([index] * piece.num_rows, pa.int64()))
                      .append_column("_row", pa.array(range(piece.num_rows), pa.int64())))
    if not parts:
        return None
    import duckdb

    con = duckdb.connect()
    con.register("plan", pa.concat_tables(pieces))
    ident, order = TABLE_IDENTITY[table]
    window = f"PARTITION BY {ident} ORDER BY {order}, _part, _row"
    kept_run = f", first_value(run_id) OVER ({window}) AS _kept_run" if "run_id" in columns else ", NULL AS _kept_run"
    found = query_arrow(con, f"SELECT * FROM (SELECT *, row_number() OVER ({window}) AS _rank{kept_run} FROM plan) "
                             "WHERE _rank > 1")
    losers: dict[int, dict[int, dict]] = defaultdict(dict)
    for row in found.to_pylist():
        losers[row["_part"]][row["_row"]] = row
    return parts, sizes, dict(losers)


def _superseded_rows(losers: dict[int, dict[int, dict]], compaction_id: str) -> list[dict]:
    """Accounting rows for dropped score rows of a run other than the kept row's."""
    now = datetime.now(timezone.utc)
    return [{"key": r["key"], "run_id": r["run_id"], "arch_index": r["arch_index"], "space": r["space"],
             "metric": r["metric"], "status": r["status"], "kept_run_id": r["_kept_run"],
             "compaction_id": compaction_id, "created_at": now}
            for rows in losers.values() for r in rows.values()
            if r["run_id"] is not None and r["run_id"] != r["_kept_run"]]


def _batches(rewrite: list[int], sizes: list[int], target_rows: int) -> list[list[int]]:
    """Groups of parts of about ``target_rows`` rows (what one merge holds in memory)."""
    batches: list[list[int]] = [[]]
    rows = 0
    for i in rewrite:
        if batches[-1] and rows + sizes[i] > target_rows:
            batches.append([])
            rows = 0
        batches[-1].append(i)
        rows += sizes[i]
    return [b for b in batches if b]


def _merge(store: Store, table: str, paths: list[str], dropped: list[dict[int, dict]],
           report: CompactReport) -> pa.Table | None:
    """The rows of ``paths`` without the ``dropped`` ones, sorted; None if a part changed since the plan."""
    pieces = []
    for path, drop in zip(paths, dropped):
        try:
            part = store.read_part(path, table)
        except Exception as exc:
            report.skipped.append(f"{store.relative(path)} and its batch left as they are: "
                                  f"{classify(exc)} since planning ({one_line(exc)})")
            return None
        if drop:
            keep = pc.invert(pc.is_in(pa.array(range(part.num_rows), pa.int64()),
                                      value_set=pa.array(sorted(drop), pa.int64())))
            part = part.filter(keep)
        pieces.append(part)
    merged = pa.concat_tables(pieces)
    order = SORT_COLUMNS.get(table) or identity_columns(table)
    return merged.sort_by([(c, "ascending") for c in order])


def _delete(store: Store, path: str) -> None:
    def remove() -> None:
        try:
            store.fs.delete_file(path)
        except FileNotFoundError:  # another compaction removed it, after writing its rows elsewhere
            pass

    store.retrying(remove)


def _remove_leftovers(store: Store, tables: list[str], leftover_age: float) -> int:
    now = time.time()
    removed = 0
    for table in tables:
        for info in store.part_infos(table):
            if files.is_leftover(info) and info.mtime is not None and now - info.mtime.timestamp() > leftover_age:
                _delete(store, info.path)
                removed += 1
    return removed


def _remove_heartbeats(store: Store, stale_after: float, me: str) -> int:
    """Heartbeats of runs that ended (a final row was written by another process) or crashed, and of
    compactions that crashed."""
    beats = {name: info for name, info in heartbeat_files(store.fs, store.base).items() if name != me}
    if not beats:
        return 0
    running = {r.run_id: r for r in store.running_runs(stale_after)}
    removed = 0
    for name, info in beats.items():
        if name.startswith(COMPACT_PREFIX):
            ended = age_of(info) > stale_after
        else:
            ended = name not in running or not running[name].live
        if ended:
            _delete(store, info.path)
            removed += 1
    return removed


__all__ = ["CompactReport", "TARGET_ROWS", "TableCompaction", "compact"]
