"""The dataset store: a directory of Parquet part files per table, queried with DuckDB.

Why part files: writers only ever *add* whole files, written to a temporary name and renamed into
place, so a crash can never leave a half-written row visible, and concurrent runs never touch each
other's files. Readers load every readable part, report (and can quarantine) unreadable ones, and
see each identity once (the latest row; for scores an ``ok`` row beats an ``error`` row).

The root is a local path by default; any URI pyarrow understands (``s3://bucket/prefix``,
``gs://...``) works on a cluster, where object PUTs are atomic by themselves.
"""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from naswot_ray.errors import InputError
from naswot_ray.store.schema import READ_DEFAULTS, TABLE_IDENTITY, TABLE_SCHEMAS

DEFAULT_STORE = "./naswot-store"
#: hidden name prefix of a written part that is not yet committed (readers only list ``part-*``)
STAGED_PREFIX = ".staged-"

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
class StoreProblem:
    """An unreadable part file: where it is and why it could not be read."""

    path: str
    reason: str


@dataclass
class Store:
    """A store rooted at ``root`` (path or URI)."""

    root: str = DEFAULT_STORE
    problems: list[StoreProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fs, base = _filesystem(self.root)
        self.base = base.rstrip("/")
        self.is_local = isinstance(self.fs, pafs.LocalFileSystem)
        self._seq = 0

    @property
    def location(self) -> str:
        """Where this store is, the same from any process: an absolute path, or the URI as given."""
        return self.base if self.is_local else self.root

    # -- layout ------------------------------------------------------------------------------
    def table_dir(self, table: str) -> str:
        load_table_providers([table])
        if table not in TABLE_SCHEMAS:
            raise InputError(f"unknown table {table!r}; valid choices: {', '.join(sorted(TABLE_SCHEMAS))}")
        return f"{self.base}/{table}"

    def exists(self) -> bool:
        return self.fs.get_file_info(self.base).type == pafs.FileType.Directory

    def part_files(self, table: str) -> list[str]:
        """Committed part files of ``table`` (temporary and quarantined files excluded), sorted."""
        directory = self.table_dir(table)
        if self.fs.get_file_info(directory).type != pafs.FileType.Directory:
            return []
        infos = self.fs.get_file_info(pafs.FileSelector(directory, recursive=False))
        return sorted(i.path for i in infos
                      if i.type == pafs.FileType.File and i.base_name.startswith("part-")
                      and i.base_name.endswith(".parquet"))

    # -- writing -----------------------------------------------------------------------------
    def write(self, table: str, data: pa.Table | Sequence[dict], *, tag: str = "", staged: bool = False) -> str | None:
        """Append ``data`` to ``table`` as one new part file, atomically. Returns its path (None if empty).

        With ``staged``, the file is written under a hidden ``.staged-`` name that readers never list, and
        only :meth:`commit_staged` makes it visible (one rename, or one server-side copy on an object
        store), so whoever decides that the rows count can publish them after they are durable.
        """
        directory = self.table_dir(table)
        schema = TABLE_SCHEMAS[table]
        arrow = data if isinstance(data, pa.Table) else pa.Table.from_pylist(list(data), schema=schema)
        if arrow.num_rows == 0:
            return None
        arrow = conform(arrow, schema)
        self.fs.create_dir(directory, recursive=True)
        self._seq += 1
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        name = f"part-{stamp}-{(tag or 'w')[:12]}-{os.getpid()}-{self._seq:05d}-{uuid.uuid4().hex[:6]}.parquet"
        final = f"{directory}/{STAGED_PREFIX}{name}" if staged else f"{directory}/{name}"
        if self.is_local:
            tmp = f"{directory}/.tmp-{name}"
            try:
                pq.write_table(arrow, tmp, compression="zstd")
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp, final)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        else:
            pq.write_table(arrow, final, filesystem=self.fs, compression="zstd")
        return final

    def commit_staged(self, staged: str) -> str:
        """Make a staged part visible under its final name; returns that name."""
        directory, name = staged.rsplit("/", 1)
        if not name.startswith(STAGED_PREFIX):
            raise ValueError(f"{staged!r} is not a staged part")
        final = f"{directory}/{name[len(STAGED_PREFIX):]}"
        if self.is_local:
            os.replace(staged, final)
        else:
            self.fs.move(staged, final)
        return final

    def discard_staged(self, staged: str) -> None:
        """Delete a staged part whose rows must not count (its lease was given to another worker)."""
        try:
            self.fs.delete_file(staged)
        except (FileNotFoundError, OSError):
            pass

    # -- reading -----------------------------------------------------------------------------
    def load(self, table: str, *, columns: Iterable[str] | None = None) -> pa.Table:
        """Every readable row of ``table`` (not deduplicated), conformed to the current schema.

        Unreadable parts are skipped and recorded in :attr:`problems` (call :meth:`quarantine` to
        move them aside so their keys get rescored).
        """
        directory = self.table_dir(table)  # validates the name
        schema = TABLE_SCHEMAS[table]
        parts = []
        for path in self.part_files(table):
            try:
                part = pq.read_table(path, filesystem=self.fs)
                parts.append(conform(part, schema, defaults=READ_DEFAULTS.get(table)))
            except Exception as exc:  # truncated, corrupt, foreign: report and go on
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                if not any(p.path == path for p in self.problems):
                    self.problems.append(StoreProblem(path, reason))
        arrow = pa.concat_tables(parts) if parts else schema.empty_table()
        if columns is not None:
            arrow = arrow.select(list(columns))
        return arrow

    def read(self, table: str, where: str | None = None) -> pa.Table:
        """One row per identity (see module docstring), optionally filtered by a DuckDB ``where``."""
        con = self.connect(tables=(table,))
        sql = f"SELECT * FROM {table}" + (f" WHERE {where}" if where else "")
        return query_arrow(con, sql)

    def connect(self, tables: Iterable[str] | None = None) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one deduplicated view per table (raw rows in ``<table>_all``)."""
        con = duckdb.connect()
        if tables is None:
            load_table_providers()
        for table in (tables or list(TABLE_SCHEMAS)):
            raw = self.load(table)
            con.register(f"{table}_all", raw)
            ident, order = TABLE_IDENTITY[table]
            con.execute(
                f"CREATE VIEW {table} AS SELECT * EXCLUDE (_rank) FROM ("
                f"SELECT *, row_number() OVER (PARTITION BY {ident} ORDER BY {order}) AS _rank "
                f"FROM {table}_all) WHERE _rank = 1"
            )
        return con

    def existing_keys(self, *, space: str | None = None, ok_only: bool = False) -> set[str]:
        """Keys already stored (any status unless ``ok_only``), for resume."""
        arrow = self.load("scores", columns=["key", "space", "status"])
        con = duckdb.connect()
        con.register("s", arrow)
        conditions = []
        params: list[object] = []
        if space is not None:
            conditions.append("space = ?")
            params.append(space)
        if ok_only:
            conditions.append("status = 'ok'")
        sql = "SELECT DISTINCT key FROM s" + (" WHERE " + " AND ".join(conditions) if conditions else "")
        return {row[0] for row in con.execute(sql, params).fetchall()}

    def quarantine(self) -> list[StoreProblem]:
        """Move every unreadable part (found by earlier loads) into ``<table>/quarantine/``."""
        moved = []
        for problem in self.problems:
            directory, name = problem.path.rsplit("/", 1)
            target_dir = f"{directory}/quarantine"
            self.fs.create_dir(target_dir, recursive=True)
            if self.fs.get_file_info(problem.path).type == pafs.FileType.File:
                self.fs.move(problem.path, f"{target_dir}/{name}")
                moved.append(problem)
        self.problems = [p for p in self.problems if p not in moved]
        return moved


def query_arrow(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pa.Table:
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


def _filesystem(root: str) -> tuple[pafs.FileSystem, str]:
    if "://" in root and not root.startswith("file://"):
        try:
            return pafs.FileSystem.from_uri(root)
        except Exception as exc:
            raise InputError(f"cannot open store {root!r}: {str(exc).splitlines()[0]}") from None
    path = root[len("file://"):] if root.startswith("file://") else root
    return pafs.LocalFileSystem(), str(Path(path).expanduser().resolve())
