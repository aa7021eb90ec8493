"""The dataset store: a directory of Parquet part files per table, queried with DuckDB.

Why part files: writers only ever *add* whole files, and a file becomes visible in one step once all
its bytes are there (:mod:`naswot_ray.store.files`: a rename locally, a server-side copy on an object
store), so a crash can never leave a half-written row visible, and any number of processes on any
number of nodes can write to one store at once without coordinating: they never touch each other's
files. Readers load every readable part (:mod:`naswot_ray.store.reader`: projected and filtered,
transient errors retried, corrupt parts reported and quarantinable) and see each identity once (the
latest row; for scores an ``ok`` row beats an ``error`` row). Two runs of one job at the same time can
both store a key; readers still see it once, and ``naswot-ray store compact`` leaves one row per key
in the files too (:mod:`naswot_ray.store.compact`).

The root is a local path by default; any URI pyarrow understands (``s3://bucket/prefix``,
``gs://...``; ``?endpoint_override=host:port&scheme=http`` for an S3-compatible server) works on a
cluster.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from naswot_ray.errors import EnvironmentProblem, InputError
from naswot_ray.store import files
from naswot_ray.store.files import STAGED_PREFIX
from naswot_ray.store.heartbeat import STALE_AFTER_SECONDS, Heartbeats, RunState, run_state
from naswot_ray.store.reader import (CORRUPT, TRANSIENT, ReadLog, RetryPolicy, StoreProblem, one_line, read_part,
                                     scan_paths, with_retry)
from naswot_ray.store.schema import READ_DEFAULTS, TABLE_IDENTITY, TABLE_SCHEMAS, ranking_columns

if TYPE_CHECKING:  # DuckDB is imported where a query runs: the scoring path never needs it
    import duckdb

DEFAULT_STORE = "./naswot-store"
#: the pseudo-column a scan fills with each row's part file
FILENAME = "__filename"

#: tables that other packages define, imported on first use so a plain ``Store`` knows every table
#: (the store stays the bottom layer: it names the modules, it does not import them up front)
TABLE_PROVIDERS = {"accuracies": "naswot_ray.accuracies.schema", "searches": "naswot_ray.search.records"}


def load_table_providers(names: Iterable[str] | None = None) -> None:
    for name in (TABLE_PROVIDERS if names is None else names):
        if name in TABLE_PROVIDERS and name not in TABLE_SCHEMAS:
            importlib.import_module(TABLE_PROVIDERS[name])


def register_table(name: str, schema: pa.Schema, identity: tuple[str, str]) -> None:
    """Let another package (accuracies, search) add a table: its schema and how to pick one row per identity."""
    existing = TABLE_SCHEMAS.get(name)
    if existing is not None and not existing.equals(schema):
        raise ValueError(f"table {name!r} registered twice with different schemas")
    TABLE_SCHEMAS[name] = schema
    TABLE_IDENTITY[name] = identity


@dataclass
class Store:
    """A store rooted at ``root`` (path or URI).

    ``filesystem`` replaces the one the root names (tests use a fault-injecting one); ``retry`` says
    how patiently reads and writes retry transient errors.
    """

    root: str = DEFAULT_STORE
    problems: list[StoreProblem] = field(default_factory=list)
    filesystem: pafs.FileSystem | None = field(default=None, repr=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        self.fs, self.base, self.is_local = files.open_filesystem(self.root, self.filesystem)
        self._seq = 0
        self._log = ReadLog(self.problems)
        self._heartbeats = Heartbeats(self.fs, self.base)

    @property
    def location(self) -> str:
        """Where this store is, the same from any process: an absolute path, or the URI as given."""
        return self.base if self.is_local else self.root

    def __getstate__(self) -> dict:
        """A store travels to Ray actors as its root, filesystem and settings; heartbeats stay here."""
        return {"root": self.root, "problems": list(self.problems), "filesystem": self.filesystem, "retry": self.retry}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    # -- layout ------------------------------------------------------------------------------
    def table_dir(self, table: str) -> str:
        load_table_providers([table])
        if table not in TABLE_SCHEMAS:
            raise InputError(f"unknown table {table!r}; valid choices: {', '.join(sorted(TABLE_SCHEMAS))}")
        return f"{self.base}/{table}"

    def exists(self) -> bool:
        return self._listing(lambda: self.fs.get_file_info(self.base).type == pafs.FileType.Directory)

    def part_files(self, table: str) -> list[str]:
        """Committed part files of ``table`` (temporary, staged and quarantined files excluded), sorted."""
        directory = self.table_dir(table)
        infos = self._listing(lambda: files.list_dir(self.fs, directory))
        return sorted(i.path for i in infos if files.is_part(i))

    def part_infos(self, table: str) -> list[pafs.FileInfo]:
        """Every entry of ``table``'s folder (parts, staged parts, unfinished uploads, quarantine)."""
        directory = self.table_dir(table)
        return self._listing(lambda: files.list_dir(self.fs, directory))

    def relative(self, path: str) -> str:
        """``path`` relative to the store root (how messages name a part)."""
        return path[len(self.base) + 1:] if path.startswith(self.base + "/") else path

    def tables(self) -> list[str]:
        """The known tables that have a folder in this store."""
        load_table_providers()
        entries = self._listing(lambda: files.list_dir(self.fs, self.base))
        present = {i.base_name for i in entries if i.type == pafs.FileType.Directory}
        return [t for t in TABLE_SCHEMAS if t in present]

    # -- writing -----------------------------------------------------------------------------
    def write(self, table: str, data: pa.Table | Sequence[dict], *, tag: str = "", staged: bool = False) -> str | None:
        """Append ``data`` to ``table`` as one new part file, visible whole or not at all. Returns its path
        (None if empty).

        With ``staged``, the file is written under a hidden ``.staged-`` name that readers never list, and
        only :meth:`commit_staged` makes it visible (one rename, or one server-side copy on an object
        store), so whoever decides that the rows count can publish them after they are durable.

        A ``running`` row written to ``runs`` starts that run's heartbeat; any other status stops it
        (:mod:`naswot_ray.store.heartbeat`). A read-only store is one :class:`EnvironmentProblem` line.
        """
        arrow = self._conformed(table, data)
        path = self._put(table, arrow, tag=tag, staged=staged)
        if table == "runs" and path is not None:
            self._track_runs(arrow)
        return path

    def rewrite(self, table: str, data: pa.Table, *, tag: str = "") -> str | None:
        """Write rows that are already stored into a new part (``store compact``): like :meth:`write`, but
        copying a ``running`` row of a crashed run must not bring its heartbeat back to life."""
        return self._put(table, self._conformed(table, data), tag=tag, staged=False)

    def _conformed(self, table: str, data: pa.Table | Sequence[dict]) -> pa.Table:
        self.table_dir(table)  # loads a provider's table, or names the valid ones
        schema = TABLE_SCHEMAS[table]
        arrow = data if isinstance(data, pa.Table) else pa.Table.from_pylist(list(data), schema=schema)
        return conform(arrow, schema)

    def _put(self, table: str, arrow: pa.Table, *, tag: str, staged: bool) -> str | None:
        directory = self.table_dir(table)
        if arrow.num_rows == 0:
            return None
        self._seq += 1
        name = files.part_name(tag, self._seq)
        name = f"{STAGED_PREFIX}{name}" if staged else name

        def put() -> str:
            self.fs.create_dir(directory, recursive=True)
            return files.publish(self.fs, self.is_local, directory, name, arrow)

        return self._writing(put, f"a part of table {table!r}")

    def commit_staged(self, staged: str) -> str:
        """Make a staged part visible under its final name; returns that name."""
        return self._writing(lambda: files.commit(self.fs, self.is_local, staged), f"part {staged}")

    def discard_staged(self, staged: str) -> None:
        """Delete a staged part whose rows must not count (its lease was given to another worker)."""
        try:
            self.fs.delete_file(staged)
        except (FileNotFoundError, OSError):
            pass

    # -- reading -----------------------------------------------------------------------------
    def scan(self, table: str, *, columns: Iterable[str] | None = None, filter: pc.Expression | None = None,
             paths: Iterable[str] | None = None) -> pa.Table:
        """Rows of ``table`` that pass ``filter`` (every row by default), only ``columns`` of them, not
        deduplicated; unreadable parts are skipped and recorded in :attr:`problems`. ``paths`` limits
        the read to those parts; the column ``__filename`` names each row's part.

        A part that vanishes between listing and reading (compacted away meanwhile) is replaced by a
        fresh listing, so a concurrent ``store compact`` never hides a row from a reader.
        """
        self.table_dir(table)  # validates the name
        schema = TABLE_SCHEMAS[table]
        wanted = list(columns) if columns is not None else schema.names
        unknown = [c for c in wanted if c not in schema.names and c != FILENAME]
        if unknown:
            raise InputError(f"unknown column {unknown[0]!r} of table {table!r}")
        done: set[str] = set()
        tables: list[pa.Table] = []
        todo = sorted(paths) if paths is not None else None
        for _ in range(5):
            todo = [p for p in (todo if todo is not None else self.part_files(table)) if p not in done]
            got, vanished = scan_paths(self.fs, todo, schema, wanted, filter, self.retry, self._log)
            tables += got
            done.update(todo)
            if not vanished:
                break
            todo = None  # list again: what replaced the vanished parts is new
        if not tables:
            empty = schema.append(pa.field(FILENAME, pa.string())) if FILENAME in wanted else schema
            return empty.empty_table().select(wanted)
        arrow = pa.concat_tables(tables)
        for name, default in READ_DEFAULTS.get(table, {}).items():
            if name in arrow.column_names:
                index = arrow.schema.get_field_index(name)
                arrow = arrow.set_column(index, name, pc.fill_null(arrow.column(name), default))
        return arrow

    def load(self, table: str, *, columns: Iterable[str] | None = None) -> pa.Table:
        """Every readable row of ``table`` (not deduplicated), conformed to the current schema.

        Unreadable parts are skipped and recorded in :attr:`problems` (call :meth:`quarantine` to
        move the corrupt ones aside so their keys get rescored).
        """
        return self.scan(table, columns=columns)

    def read_part(self, path: str, table: str, columns: Iterable[str] | None = None) -> pa.Table:
        """Every row of one part of ``table`` (``columns`` of it, or all), retrying transient errors;
        a failure that persists propagates (``naswot_ray.store.reader.classify`` says what it was)."""
        return read_part(self.fs, path, TABLE_SCHEMAS[table], None if columns is None else list(columns),
                         self.retry, self._log)

    def latest(self, table: str, *, filter: pc.Expression | None = None, columns: Iterable[str] | None = None,
               paths: Iterable[str] | None = None) -> pa.Table:
        """One row per identity (the row readers pick) among the rows passing ``filter`` (of ``paths`` only,
        when given)."""
        wanted = list(columns) if columns is not None else TABLE_SCHEMAS[table].names
        needed = list(dict.fromkeys(wanted + ranking_columns(table)))
        raw = self.scan(table, columns=needed, filter=filter, paths=paths)
        return pick_latest(table, raw).select(wanted)

    def read(self, table: str, where: str | None = None) -> pa.Table:
        """One row per identity (see module docstring), optionally filtered by a DuckDB ``where``."""
        con = self.connect(tables=(table,))
        sql = f"SELECT * FROM {table}" + (f" WHERE {where}" if where else "")
        return query_arrow(con, sql)

    def connect(self, tables: Iterable[str] | None = None) -> "duckdb.DuckDBPyConnection":
        """A DuckDB connection with one deduplicated view per table (raw rows in ``<table>_all``)."""
        import duckdb

        con = duckdb.connect()
        if tables is None:
            load_table_providers()
        for table in (tables or list(TABLE_SCHEMAS)):
            raw = self.load(table)
            con.register(f"{table}_all", raw)
            con.execute(f"CREATE VIEW {table} AS {latest_sql(table, f'{table}_all')}")
        return con

    def existing_keys(self, *, space: str | None = None, ok_only: bool = False,
                      metrics: Iterable[str] | None = None, among: Iterable[str] | None = None) -> set[str]:
        """Keys already stored (any status unless ``ok_only``), for resume.

        Reads the ``key`` column only, of rows of ``space`` and ``metrics``; ``among`` (the keys a job
        could write) keeps only those, so the answer is as small as the job, not the store.
        """
        conditions = []
        if space is not None:
            conditions.append(pc.field("space") == space)
        if metrics is not None:
            conditions.append(pc.field("metric").isin(sorted(set(metrics))))
        if ok_only:
            conditions.append(pc.field("status") == "ok")
        if among is not None:
            conditions.append(pc.field("key").isin(sorted(set(among))))
        arrow = self.scan("scores", columns=["key"], filter=_all_of(conditions))
        return set(pc.unique(arrow.column("key")).to_pylist())

    def read_keys(self, keys: Iterable[str], *, ok_only: bool = True, space: str | None = None) -> pa.Table:
        """The rows readers pick for ``keys`` (only ``ok`` ones by default): what ``--dedupe`` copies from
        a stored member of a class.

        Reads the ``key`` column first (of ``space`` only, when given: parts of other spaces are then
        skipped by their statistics) to find the parts that hold those keys, then every column of those
        parts' matching rows only.
        """
        wanted = sorted(set(keys))
        if not wanted:
            return TABLE_SCHEMAS["scores"].empty_table()
        condition = pc.field("key").isin(wanted)
        if ok_only:
            condition = condition & (pc.field("status") == "ok")
        if space is not None:
            condition = condition & (pc.field("space") == space)
        located = self.scan("scores", columns=["key", FILENAME], filter=condition)
        holders = set(located.column(FILENAME).to_pylist())
        return self.latest("scores", filter=condition, paths=holders)

    # -- what reads met ----------------------------------------------------------------------
    @property
    def retried(self) -> int:
        """Reads and writes that succeeded only after retrying a transient error."""
        return self._log.retried

    def quarantine(self) -> list[StoreProblem]:
        """Move every *corrupt* part (found by earlier reads) into ``<table>/quarantine/``.

        Parts that failed with a transient error stay where they are (they are fine, the network was
        not). A part that cannot be moved (a read-only store) stays too, and stays in :attr:`problems`.
        """
        moved = []
        for problem in [p for p in self.problems if p.kind == CORRUPT]:
            directory, name = problem.path.rsplit("/", 1)
            target_dir = f"{directory}/quarantine"
            try:
                self.fs.create_dir(target_dir, recursive=True)
                if self.fs.get_file_info(problem.path).type == pafs.FileType.File:
                    self.fs.move(problem.path, f"{target_dir}/{name}")
                    moved.append(problem)
            except OSError as exc:
                problem.reason += f" (could not quarantine: {one_line(exc)})"
        self.problems[:] = [p for p in self.problems if p not in moved]
        return moved

    def summary_lines(self, quarantined: Iterable[StoreProblem] = ()) -> list[str]:
        """What this store's reads met, for a run summary: quarantined corrupt parts (``quarantined``,
        as returned by :meth:`quarantine`), parts unreadable for now, and retried reads."""
        lines = [f"store: corrupt part quarantined, its keys are missing from the store: {p.path} ({p.reason})"
                 for p in quarantined]
        lines += [f"store: corrupt part left in place: {p.path} ({p.reason})"
                  for p in self.problems if p.kind == CORRUPT]
        lines += [f"store: part unreadable for now after {self.retry.attempts} tries (transient error, left in "
                  f"place): {p.path} ({p.reason})" for p in self.problems if p.kind == TRANSIENT]
        if self.retried:
            lines.append(f"store: {self.retried} read(s) succeeded after retrying a transient error")
        return lines

    # -- runs --------------------------------------------------------------------------------
    def start_heartbeat(self, run_id: str) -> None:
        """Keep ``run_id`` live for ``store compact`` until :meth:`stop_heartbeat` or this process ends."""
        self._writing(lambda: self._heartbeats.start(run_id), f"the heartbeat of run {run_id}")

    def stop_heartbeat(self, run_id: str) -> None:
        self._heartbeats.stop(run_id)

    def running_runs(self, stale_after: float = STALE_AFTER_SECONDS) -> list[RunState]:
        """Runs whose latest ``runs`` row says ``running``, each with whether it is live."""
        if not self.part_files("runs"):
            return []
        runs = self.latest("runs", filter=None, columns=["run_id", "command", "status", "started_at", "created_at"])
        return [run_state(self.fs, self.base, row, stale_after)
                for row in runs.to_pylist() if row["status"] == "running"]

    def _track_runs(self, arrow: pa.Table) -> None:
        for row in arrow.select(["run_id", "status"]).to_pylist():
            if row["status"] == "running":
                self.start_heartbeat(row["run_id"])
            else:
                self.stop_heartbeat(row["run_id"])

    # -- helpers -----------------------------------------------------------------------------
    def retrying(self, operation):
        """Run a store operation, retrying transient failures (counted in :attr:`retried`)."""
        return with_retry(operation, self.retry, self._log)

    def _listing(self, operation):
        """Run a listing; one that still fails after retries is one line (exit 1): without a listing
        nothing in the store can be trusted to be complete."""
        try:
            return self.retrying(operation)
        except OSError as exc:
            raise EnvironmentProblem(f"cannot list store {self.root!r}: {one_line(exc)}") from None

    def _writing(self, operation, what: str):
        """Run a write; transient failures are retried, a read-only or misplaced store is one line."""
        try:
            return self.retrying(operation)
        except OSError as exc:
            problem = files.write_problem(exc, self.root, what)
            if problem is None:
                raise EnvironmentProblem(f"cannot write {what} to store {self.root!r}: {one_line(exc)}") from None
            raise problem from None


def latest_sql(table: str, source: str) -> str:
    """SQL selecting the row readers pick per identity of ``table`` from relation ``source``."""
    ident, order = TABLE_IDENTITY[table]
    return (f"SELECT * EXCLUDE (_rank) FROM (SELECT *, row_number() OVER (PARTITION BY {ident} ORDER BY {order}) "
            f"AS _rank FROM {source}) WHERE _rank = 1")


def pick_latest(table: str, raw: pa.Table) -> pa.Table:
    """The rows of ``raw`` that readers pick (one per identity of ``table``)."""
    import duckdb

    con = duckdb.connect()
    con.register("raw_rows", raw)
    return query_arrow(con, latest_sql(table, "raw_rows"))


def query_arrow(con: "duckdb.DuckDBPyConnection", sql: str, params: list | None = None) -> pa.Table:
    """Run ``sql`` and return an Arrow table without the DB-API copy (DuckDB 2 renamed the method)."""
    relation = con.sql(sql, params=params) if params else con.sql(sql)
    method = getattr(relation, "to_arrow_table", None) or getattr(relation, "arrow")
    return method()


def conform(arrow: pa.Table, schema: pa.Schema, defaults: dict[str, object] | None = None) -> pa.Table:
    """Cast ``arrow`` to ``schema``: add missing columns (as ``defaults`` or nulls), drop unknown ones, fix types."""
    columns = []
    defaults = defaults or {}
    for f in schema:
        if f.name in arrow.column_names:
            column = arrow.column(f.name)
            columns.append(column if column.type == f.type else column.cast(f.type))
        elif f.name in defaults:
            columns.append(pa.array([defaults[f.name]] * arrow.num_rows, type=f.type))
        else:
            columns.append(pa.nulls(arrow.num_rows, type=f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _all_of(conditions: list[pc.Expression]) -> pc.Expression | None:
    if not conditions:
        return None
    out = conditions[0]
    for condition in conditions[1:]:
        out = out & condition
    return out
